import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
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

/** Creates the layout's directories with mode 0700 (and tightens existing ones). */
export function ensureStateDirs(layout: StateLayout): void {
  for (const dir of [layout.root, layout.tokens, layout.pins, layout.run]) {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    if ((statSync(dir).mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
  }
}
