import { join } from 'node:path';
import type tls from 'node:tls';
import type { KeyProvider, KeyRequest } from './key-provider.js';
import { checkPinFile } from './pin-file-permissions.js';
import { TlsMaterialError } from './tls-material.js';

/** RFC 7512 percent-encoding of a path attribute value (everything but unreserved characters). */
function pct(v: string): string {
  return encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The key URI for a key in a token; the PIN is referenced by file (pin-source), never inlined. */
export function pkcs11KeyUri(token: string, object: string, pinFile: string): string {
  return `pkcs11:token=${pct(token)};object=${pct(object)};type=private?pin-source=file:${pinFile}`;
}

function str(cfg: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = cfg[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new TlsMaterialError(`${where}: privateKeyProvider.typedConfig.${key} must be a non-empty string`);
  return v;
}

/** typedConfig fields of this provider ('@type' names the message, as Envoy's typed configs do). */
const KNOWN_FIELDS = new Set(['@type', 'keyLabel', 'token', 'pinFile']);

/**
 * Keys in keyd's tokens, used through OpenSSL's pkcs11 engine over p11-kit-client.so: the handshake
 * signature is made in keyd's process and the key bytes never enter this one.
 * typedConfig: { keyLabel, token? (default keyLabel), pinFile? (default $BULWARK_STATE_DIR/pins/<token>.pin) }.
 */
export const pkcs11KeyProvider: KeyProvider = {
  name: 'pkcs11',
  options(req: KeyRequest): tls.SecureContextOptions {
    const cfg = req.cert.privateKeyProvider?.typedConfig ?? {};
    const where = req.where;
    for (const key of Object.keys(cfg)) {
      if (KNOWN_FIELDS.has(key)) continue;
      // A PIN in the config would be a secret in clear text on disk: it is only ever read from a file.
      if (/pin$/i.test(key)) throw new TlsMaterialError(`${where}: privateKeyProvider.typedConfig.${key}: a PIN is never given inline; name the file that holds it with pinFile`);
      throw new TlsMaterialError(`${where}: privateKeyProvider.typedConfig.${key} is not a pkcs11 provider field (keyLabel, token, pinFile)`);
    }
    const label = str(cfg, 'keyLabel', where);
    if (!label) throw new TlsMaterialError(`${where}: privateKeyProvider pkcs11 needs typedConfig.keyLabel`);
    const token = str(cfg, 'token', where) ?? label;
    const stateDir = process.env.BULWARK_STATE_DIR;
    const pinFile = str(cfg, 'pinFile', where) ?? (stateDir ? join(stateDir, 'pins', `${token}.pin`) : undefined);
    if (!pinFile) throw new TlsMaterialError(`${where}: privateKeyProvider pkcs11 needs typedConfig.pinFile (or run the proxy with --keyd STATE_DIR)`);
    checkPinFile(pinFile, token, where);
    if (!process.env.OPENSSL_CONF || !process.env.P11_KIT_SERVER_ADDRESS) {
      throw new TlsMaterialError(`${where}: key custody is not configured in this process (start the proxy with --keyd STATE_DIR, or with the environment in STATE_DIR/keyd/proxy.env)`);
    }
    return { cert: req.chainPem, privateKeyEngine: 'pkcs11', privateKeyIdentifier: pkcs11KeyUri(token, label, pinFile) };
  },
};
