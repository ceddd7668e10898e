// The CLI from source (no build): `npx tsx scripts/cli.ts <command> ...`, as bin/onnx-unlearn.js runs dist/.
import { main } from "../src/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
