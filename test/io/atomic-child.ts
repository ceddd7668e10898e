/**
 * A child process for the atomic-writer signal tests: `node --import tsx test/io/atomic-child.ts <mode> <dir>`.
 * - open: opens an AtomicFile on <dir>/out.bin, writes a little, prints "ready" and waits (a write in flight);
 * - loop: writes <dir>/out.bin again and again (1 MiB, every byte the iteration number), yielding between writes,
 *   printing "ready" after the first;
 * - handled: as open, but the program has its own SIGINT listener (it stays alive and says "handled").
 */
import { AtomicFile, writeFileAtomic } from "../../src/io/atomic-write.js";

const [mode, dir] = process.argv.slice(2);
const path = `${dir}/out.bin`;

if (mode === "open" || mode === "handled") {
  if (mode === "handled") process.on("SIGINT", () => process.stdout.write("handled\n"));
  const f = new AtomicFile(path);
  f.write(new Uint8Array(1000).fill(7));
  process.stdout.write("ready\n");
  setInterval(() => f.write(new Uint8Array(10)), 50);
} else if (mode === "loop") {
  let i = 0;
  const step = () => {
    writeFileAtomic(path, new Uint8Array(1 << 20).fill(i++ % 256));
    if (i === 1) process.stdout.write("ready\n");
    setImmediate(step);
  };
  step();
}
