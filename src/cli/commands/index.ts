import type { Command } from "commander";
import { register as zoo } from "./zoo.js";
import { register as data } from "./data.js";
import { register as inspect } from "./inspect.js";
import { register as exportWeights } from "./export-weights.js";
import { register as importWeights } from "./import-weights.js";
import { register as artifacts } from "./artifacts.js";
import { register as verifyTorch } from "./verify-torch.js";
import { register as unlearn } from "./unlearn.js";
import { register as demo } from "./demo.js";
import { register as score } from "./score.js";
import { register as train } from "./train.js";
import { register as benchmark } from "./benchmark.js";
import { register as quickstart } from "./quickstart.js";
import { register as report } from "./report.js";
import { register as evaluate } from "./eval.js";

/** Each command lives in its own file and exports `register(program)`. */
type Register = (program: Command) => void;
const commands: Register[] = [
  zoo,
  data,
  inspect,
  exportWeights,
  importWeights,
  artifacts,
  verifyTorch,
  unlearn,
  demo,
  score,
  report,
  train,
  benchmark,
  quickstart,
  evaluate,
];

export function registerCommands(program: Command): void {
  for (const register of commands) register(program);
}
