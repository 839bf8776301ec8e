/**
 * Reads the server name (SNI) and the ALPN protocols a TLS client offers from its ClientHello,
 * without terminating TLS: what Envoy's tls_inspector gives filter chain matching, so a listener can
 * pass TLS through to different upstreams by server name (Istio's PASSTHROUGH gateways and its
 * outbound :443 listeners).
 *
 * The handshake message may span several TLS records, and records may arrive over several reads:
 * the caller feeds the bytes seen so far and asks again while the answer is 'incomplete'.
 */

export interface ClientHelloInfo {
  serverName: string | undefined;
  alpn: string[];
}

/** Enough bytes for any ClientHello a real client sends; beyond this the hello is treated as unreadable. */
export const MAX_CLIENT_HELLO_BYTES = 16 * 1024;

const HANDSHAKE_RECORD = 0x16;
const CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;

/**
 * 'not-tls' when the bytes do not start a TLS handshake record, 'incomplete' while more bytes are
 * needed, 'malformed' when they cannot be a ClientHello; else what it offers.
 */
export function readClientHello(bytes: Buffer): ClientHelloInfo | 'not-tls' | 'incomplete' | 'malformed' {
  if (bytes.length === 0) return 'incomplete';
  if (bytes[0] !== HANDSHAKE_RECORD) return 'not-tls';
  // Join the payloads of the handshake records until the ClientHello message is whole.
  const payloads: Buffer[] = [];
  let have = 0;
  let need = -1;
  let pos = 0;
  while (need < 0 || have < need) {
    if (pos + 5 > bytes.length) return 'incomplete';
    if (bytes[pos] !== HANDSHAKE_RECORD || bytes[pos + 1] !== 3) return 'malformed';
    const len = bytes.readUInt16BE(pos + 3);
    if (len === 0 || len > 16_384 + 2048) return 'malformed';
    if (pos + 5 + len > bytes.length) return 'incomplete';
    payloads.push(bytes.subarray(pos + 5, pos + 5 + len));
    have += len;
    pos += 5 + len;
    if (need < 0 && have >= 4) {
      const first = payloads.length === 1 ? payloads[0]! : Buffer.concat(payloads);
      if (first[0] !== CLIENT_HELLO) return 'malformed';
      need = 4 + ((first[1]! << 16) | (first[2]! << 8) | first[3]!);
      if (need > MAX_CLIENT_HELLO_BYTES) return 'malformed';
    }
  }
  const msg = payloads.length === 1 ? payloads[0]! : Buffer.concat(payloads);
  return parseHello(msg.subarray(4, need));
}

function parseHello(b: Buffer): ClientHelloInfo | 'malformed' {
  // client_version (2), random (32), session_id, cipher_suites, compression_methods, extensions.
  let p = 34;
  if (p + 1 > b.length) return 'malformed';
  p += 1 + b[p]!;
  if (p + 2 > b.length) return 'malformed';
  p += 2 + b.readUInt16BE(p);
  if (p + 1 > b.length) return 'malformed';
  p += 1 + b[p]!;
  const info: ClientHelloInfo = { serverName: undefined, alpn: [] };
  if (p === b.length) return info; // no extensions at all
  if (p + 2 > b.length) return 'malformed';
  const end = p + 2 + b.readUInt16BE(p);
  if (end > b.length) return 'malformed';
  p += 2;
  while (p + 4 <= end) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    const body = p + 4;
    if (body + len > end) return 'malformed';
    if (type === EXT_SERVER_NAME && len >= 2) info.serverName = hostName(b.subarray(body, body + len));
    else if (type === EXT_ALPN && len >= 2) info.alpn = protocols(b.subarray(body, body + len));
    p = body + len;
  }
  return info;
}

/** The host_name entry of a server_name extension, lower-cased; undefined when absent or not a plain name. */
function hostName(ext: Buffer): string | undefined {
  let p = 2;
  const end = Math.min(ext.length, 2 + ext.readUInt16BE(0));
  while (p + 3 <= end) {
    const type = ext[p]!;
    const len = ext.readUInt16BE(p + 1);
    if (p + 3 + len > end) return undefined;
    if (type === 0) {
      const name = ext.toString('latin1', p + 3, p + 3 + len).toLowerCase();
      // Letters, digits, dots, hyphens, and underscores (internal DNS names use them; OpenSSL accepts them).
      return /^[a-z0-9._*-]+$/.test(name) ? name : undefined;
    }
    p += 3 + len;
  }
  return undefined;
}

function protocols(ext: Buffer): string[] {
  const out: string[] = [];
  let p = 2;
  const end = Math.min(ext.length, 2 + ext.readUInt16BE(0));
  while (p + 1 <= end) {
    const len = ext[p]!;
    if (len === 0 || p + 1 + len > end) break;
    out.push(ext.toString('latin1', p + 1, p + 1 + len));
    p += 1 + len;
  }
  return out;
}
