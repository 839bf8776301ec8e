import { run as runLoad } from './load.js';

/**
 * \`bulwark curl\`: Fortio's \`fortio curl URL\`, which is \`fortio load -curl URL\` (cli/fortio_main.go
 * runs both through one fetch): the load command's flags, one call, the response printed.
 */
export function run(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help') || args.includes('-help')) return runLoad(args);
  return runLoad(['-curl', ...args]);
}
