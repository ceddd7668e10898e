/** The benchmark scripts' bad-option exit: one line `<command>: <message>` on stderr, exit code 2. */
export const optionError =
  (command: string) =>
  (message: string): never => {
    process.stderr.write(`${command}: ${message}\n`);
    process.exit(2);
  };
