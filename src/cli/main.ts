import { commands } from './commands.js';
import { CliUsageError } from './cli-error.js';
import { isExpectedError } from './expected-error.js';
import { BULWARK_VERSION } from '../util/version.js';

function usage(): string {
  const lines = ['usage: bulwark <command> [options]   (bulwark --version, bulwark <command> --help)', '', 'commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(14)} ${c.summary}`);
  return lines.join('\n');
}

/** BULWARK_DEBUG=1 shows the stack of every error, expected ones included. */
const debug = process.env.BULWARK_DEBUG === '1';

/** Prints a command's failure as `bulwark <cmd>: <message>` and returns the exit code. */
function report(command: string, err: unknown): number {
  const prefix = `bulwark ${command}:`;
  if (err instanceof CliUsageError) {
    process.stderr.write(`${prefix} ${debug ? (err.stack ?? err.message) : err.message}\n`);
    return 2;
  }
  if (isExpectedError(err)) {
    process.stderr.write(`${prefix} ${debug ? (err.stack ?? err.message) : err.message}\n`);
    return 1;
  }
  // Not something the user can fix: keep the stack for the bug report.
  process.stderr.write(`${prefix} internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`bulwark ${BULWARK_VERSION} (node ${process.version})\n`);
    return 0;
  }
  const entry = commands[name];
  if (!entry) {
    process.stderr.write(`bulwark: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  try {
    const mod = await entry.load();
    return await mod.run(rest);
  } catch (err) {
    return report(name, err);
  }
}

main(process.argv.slice(2)).then((code) => {
  if (code !== 0) process.exitCode = code;
});
