import type { Command } from "commander";
import { register as zoo } from "./zoo.js";

/** Each command lives in its own file and exports `register(program)`. */
type Register = (program: Command) => void;
const commands: Register[] = [zoo];

export function registerCommands(program: Command): void {
  for (const register of commands) register(program);
}
