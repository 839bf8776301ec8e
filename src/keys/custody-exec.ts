import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { custodyEnv } from './engine-config.js';
import { checkEngineConfigTrusted, stateLayout, StateDirError } from './state-dir.js';

/**
 * Makes sure this process runs with keyd's engine environment. Node reads OPENSSL_CONF only at start,
 * so when it is missing the command is run again as a child with it (signals forwarded), and the
 * returned promise settles with the child's exit code. Resolves undefined when this process is ready.
 */
export function execWithCustody(stateDir: string): Promise<number> | undefined {
  const layout = stateLayout(stateDir);
  if (!existsSync(layout.engineConf)) throw new StateDirError(`keyd has not run in ${stateDir} (no ${layout.engineConf}); start \`bulwark keyd --state-dir ${stateDir}\` first`);
  checkEngineConfigTrusted(layout);
  const env = { ...custodyEnv(layout.engineConf, layout.socket), BULWARK_STATE_DIR: stateDir };
  if (Object.entries(env).every(([k, v]) => process.env[k] === v)) return undefined;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { env: { ...process.env, ...env }, stdio: 'inherit' });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}
