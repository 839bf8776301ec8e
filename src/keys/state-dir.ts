import { chmodSync, existsSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where keyd keeps tokens, PINs and its socket. Every directory is 0700: only the mesh's user reads it. */
export interface StateLayout {
  root: string;
  /** SoftHSM2's token directory (the key store; encrypted objects, never plain keys). */
  tokens: string;
  /** One 0600 file per token PIN (user PIN and SO PIN). */
  pins: string;
  /** keyd's runtime directory: the p11-kit socket, pid files, the engine config for proxies. */
  run: string;
  softhsmConf: string;
  socket: string;
  /** The OpenSSL config that tells proxies to load the pkcs11 engine over p11-kit-client.so. */
  engineConf: string;
}

/** The state directory: --state-dir, else $BULWARK_STATE_DIR, else ./.bulwark-state. */
export function resolveStateDir(flag: string | undefined): string {
  return resolve(flag ?? process.env.BULWARK_STATE_DIR ?? '.bulwark-state');
}

/** The fixed layout under a state directory (nothing is created). */
export function stateLayout(root: string): StateLayout {
  const run = join(root, 'keyd');
  return {
    root,
    tokens: join(root, 'tokens'),
    pins: join(root, 'pins'),
    run,
    softhsmConf: join(root, 'softhsm2.conf'),
    socket: join(run, 'pkcs11.sock'),
    engineConf: join(run, 'openssl-pkcs11.cnf'),
  };
}

/** A state directory this process must not use. */
export class StateDirError extends Error {
  override name = 'StateDirError';
}

/**
 * Creates the layout's directories with mode 0700 (and tightens existing ones). An existing one owned
 * by another user is refused, as ssh refuses such a home: its owner can loosen its mode again at any
 * time, and swap what keyd writes there (the engine config every proxy loads, SoftHSM's config, tokens).
 */
export function ensureStateDirs(layout: StateLayout): void {
  for (const dir of [layout.root, layout.tokens, layout.pins, layout.run]) {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = ownStat(dir, 'state directory');
    if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
  }
}

/**
 * Refuses to let a proxy take its engine config from keyd's state unless this user owns the state and
 * run directories and the config, and neither group nor others may write them: whoever can edit that
 * config chooses the engine library the proxy loads and runs.
 */
export function checkEngineConfigTrusted(layout: StateLayout): void {
  for (const [path, what] of [
    [layout.root, 'state directory'],
    [layout.run, 'state directory'],
    [layout.engineConf, 'engine config'],
  ] as const) {
    const mode = ownStat(path, what).mode & 0o777;
    if (mode & 0o022) throw new StateDirError(`${what} ${path} has mode 0${mode.toString(8)}, writable by group or others; it must be writable by this user only`);
  }
}

function ownStat(path: string, what: string): Stats {
  const st = statSync(path);
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid) throw new StateDirError(`${what} ${path} is owned by uid ${st.uid}, not by this user (uid ${uid}); keyd's tokens, PINs and engine config must be in directories only this user controls`);
  return st;
}
