import { existsSync, writeFileSync } from 'node:fs';

const ENGINE_CANDIDATES = ['/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so', '/usr/lib/aarch64-linux-gnu/engines-3/pkcs11.so', '/usr/lib64/engines-3/pkcs11.so', '/usr/lib/engines-3/pkcs11.so'];
const CLIENT_CANDIDATES = ['/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so', '/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-client.so', '/usr/lib64/pkcs11/p11-kit-client.so', '/usr/lib/pkcs11/p11-kit-client.so'];

function firstExisting(paths: string[], what: string, pkg: string): string {
  const found = paths.find((p) => existsSync(p));
  if (!found) throw new Error(`${what} not found (looked for ${paths.join(', ')}); install ${pkg}`);
  return found;
}

/**
 * The OpenSSL config a proxy starts with: it loads libp11's `pkcs11` engine over p11-kit-client.so, so a
 * key URI resolves to a key in keyd's tokens and every signature is made in keyd's process. Node reads
 * OPENSSL_CONF (section nodejs_conf) only at start, so this must be in the proxy's environment from exec.
 */
export function writeEngineConfig(path: string): void {
  const engine = firstExisting(ENGINE_CANDIDATES, 'the OpenSSL pkcs11 engine', 'libengine-pkcs11-openssl');
  const client = firstExisting(CLIENT_CANDIDATES, 'p11-kit-client.so', 'p11-kit-modules');
  const text = [
    'nodejs_conf = bulwark_init',
    'openssl_conf = bulwark_init',
    '[bulwark_init]',
    'engines = bulwark_engines',
    '[bulwark_engines]',
    'pkcs11 = bulwark_pkcs11',
    '[bulwark_pkcs11]',
    'engine_id = pkcs11',
    `dynamic_path = ${engine}`,
    `MODULE_PATH = ${client}`,
    'init = 0',
    '',
  ].join('\n');
  writeFileSync(path, text, { mode: 0o600 });
}

/** The environment a process needs to reach keyd's keys through the engine. */
export function custodyEnv(engineConf: string, socket: string): Record<string, string> {
  return { OPENSSL_CONF: engineConf, P11_KIT_SERVER_ADDRESS: `unix:path=${socket}` };
}
