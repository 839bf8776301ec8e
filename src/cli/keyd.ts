import { parseArgs } from 'node:util';
import { disableCoreDumps } from '../keys/core-dumps.js';
import { Keyd } from '../keys/keyd.js';
import { resolveStateDir } from '../keys/state-dir.js';
import { CliUsageError } from './cli-error.js';

const USAGE = `usage: bulwark keyd [--state-dir DIR] [--module PATH]

  --state-dir DIR  tokens, PIN files and the keyd socket (default $BULWARK_STATE_DIR or ./.bulwark-state)
  --module PATH    PKCS#11 module to serve (default SoftHSM2; a real HSM, tpm2-pkcs11 or a cloud HSM library)

Serves the tokens on DIR/keyd/pkcs11.sock through a supervised p11-kit server. Proxies reach their keys
with the environment in DIR/keyd/proxy.env (or \`bulwark proxy --keyd DIR\`). SIGTERM stops keyd and its
server; if keyd dies instead, the server keeps serving and the next keyd adopts it.`;

function log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, component: 'keyd', msg, pid: process.pid, ...fields })}\n`);
}

/** `bulwark keyd`: the key-custody daemon. */
export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { 'state-dir': { type: 'string' }, module: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    throw new CliUsageError(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  // Before the p11-kit server starts: it and every p11-kit-remote it forks inherit the limit.
  const coreDumps = disableCoreDumps();
  if (coreDumps) log('warn', coreDumps);
  const keyd = new Keyd({ stateDir: resolveStateDir(values['state-dir']), module: values.module, log });
  await keyd.start();
  log('info', 'keyd ready', { socket: keyd.layout.socket, module: keyd.module, serverPid: keyd.serverPid });
  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      log('info', 'keyd stopping', { signal });
      keyd.stop().then(() => resolve(0), () => resolve(1));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
