import { commands } from './commands.js';
import { CliUsageError } from './cli-error.js';

function usage(): string {
  const lines = ['usage: bulwark <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(14)} ${c.summary}`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const entry = commands[name];
  if (!entry) {
    process.stderr.write(`bulwark: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  const mod = await entry.load();
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof CliUsageError) {
      process.stderr.write(`bulwark: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`bulwark: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
