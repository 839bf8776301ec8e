/**
 * Reads the server name (SNI) and the ALPN protocols a TLS client offers from its ClientHello,
 * without terminating TLS: what Envoy's tls_inspector gives filter chain matching, so a listener can
 * pass TLS through to different upstreams by server name (Istio's PASSTHROUGH gateways and its
 * outbound :443 listeners).
 *
 * The handshake message may be fragmented over several handshake records (RFC 8446 §5.1: a hello
 * with a long ALPN list or large extensions is over one record's 16 KiB, and some clients send small
 * records), and records may arrive over several reads: the reader joins the records' payloads as the
 * bytes come in. The bytes themselves are kept as received, for the TLS server that takes the
 * connection next (OpenSSL joins the records again itself).
 */

export interface ClientHelloInfo {
  serverName: string | undefined;
  alpn: string[];
}

/**
 * What the bytes so far tell: 'not-tls' when they do not start a TLS handshake record, 'incomplete'
 * while more bytes are needed, 'malformed' when they cannot be a ClientHello, 'too-large' when the
 * hello does not fit in MAX_CLIENT_HELLO_BYTES; else what it offers.
 */
export type ClientHelloResult = ClientHelloInfo | 'not-tls' | 'incomplete' | 'malformed' | 'too-large';

/**
 * The most bytes (records and their headers) read for one ClientHello, as Envoy's tls_inspector
 * (max_client_hello_size, 64 KiB): any real hello fits, and a client cannot make the listener hold more.
 */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

const NOTHING = Buffer.alloc(0);
const HANDSHAKE_RECORD = 0x16;
const RECORD_HEADER = 5;
/** TLSPlaintext.length is at most 2^14; TLS 1.2 lets a compressed record carry 1024 more, and some stacks round up. */
const MAX_RECORD_PAYLOAD = 16_384 + 2048;
const HANDSHAKE_HEADER = 4;
const CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;

/**
 * Reads one connection's ClientHello as its bytes arrive, in time linear in the bytes: each record is
 * looked at once, and bytes are copied only when the hello spans reads or records.
 */
export class ClientHelloReader {
  /** The bytes received, in order: `raw` holds `received` of them (more capacity once it is a copy). */
  private raw: Buffer = NOTHING;
  private rawLength = 0;
  /** `raw` is our own copy, which later reads may be appended to in place. */
  private rawOwned = false;
  /** Where the next record not yet joined starts in `raw`. */
  private nextRecord = 0;
  /** The handshake payloads joined so far, and their length. */
  private readonly fragments: Buffer[] = [];
  private fragmentsLength = 0;
  /** The ClientHello's length with its handshake header, once its first 4 bytes are in; else -1. */
  private messageLength = -1;
  private result: ClientHelloResult = 'incomplete';

  /** Every byte received so far, as received. */
  get received(): Buffer {
    return this.rawLength === this.raw.length ? this.raw : this.raw.subarray(0, this.rawLength);
  }

  /** Takes the next bytes read from the connection and tells what is known now; once not 'incomplete', the answer stays. */
  push(chunk: Buffer): ClientHelloResult {
    this.append(chunk);
    if (this.result !== 'incomplete') return this.result;
    if (this.rawLength === 0) return this.result;
    if (this.raw[0] !== HANDSHAKE_RECORD) return (this.result = 'not-tls');
    this.result = this.joinRecords();
    if (this.result === 'incomplete' && this.rawLength >= MAX_CLIENT_HELLO_BYTES) this.result = 'too-large';
    return this.result;
  }

  /** Joins each whole record that came in; stops at the end of the ClientHello message. */
  private joinRecords(): ClientHelloResult {
    const raw = this.raw;
    while (this.nextRecord + RECORD_HEADER <= this.rawLength) {
      const at = this.nextRecord;
      // Another content type (alert, change_cipher_spec, data) before the hello ends is not a hello.
      if (raw[at] !== HANDSHAKE_RECORD || raw[at + 1] !== 3) return 'malformed';
      const len = raw.readUInt16BE(at + 3);
      // Zero-length handshake fragments are forbidden (RFC 8446 §5.1).
      if (len === 0 || len > MAX_RECORD_PAYLOAD) return 'malformed';
      if (at + RECORD_HEADER + len > MAX_CLIENT_HELLO_BYTES) return 'too-large';
      if (at + RECORD_HEADER + len > this.rawLength) return 'incomplete';
      this.fragments.push(raw.subarray(at + RECORD_HEADER, at + RECORD_HEADER + len));
      this.fragmentsLength += len;
      this.nextRecord = at + RECORD_HEADER + len;
      if (this.messageLength < 0 && this.fragmentsLength >= HANDSHAKE_HEADER) {
        const head = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments, HANDSHAKE_HEADER);
        if (head[0] !== CLIENT_HELLO) return 'malformed';
        this.messageLength = HANDSHAKE_HEADER + head.readUIntBE(1, 3);
        if (this.messageLength > MAX_CLIENT_HELLO_BYTES) return 'too-large';
      }
      if (this.messageLength >= 0 && this.fragmentsLength >= this.messageLength) {
        const message = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments, this.messageLength);
        return parseHello(message.subarray(HANDSHAKE_HEADER, this.messageLength));
      }
    }
    return 'incomplete';
  }

  /** Adds a read to `raw`, doubling its capacity when it is full so that many small reads cost linear time. */
  private append(chunk: Buffer): void {
    if (this.rawLength === 0) {
      this.raw = chunk;
      this.rawLength = chunk.length;
      return;
    }
    const length = this.rawLength + chunk.length;
    if (!this.rawOwned || length > this.raw.length) {
      // Fragments joined so far keep pointing into the old bytes, which stay as they are.
      const grown = Buffer.allocUnsafe(Math.max(length, Math.min(2 * this.raw.length, MAX_CLIENT_HELLO_BYTES + MAX_RECORD_PAYLOAD)));
      this.raw.copy(grown, 0, 0, this.rawLength);
      this.raw = grown;
      this.rawOwned = true;
    }
    chunk.copy(this.raw, this.rawLength);
    this.rawLength = length;
  }
}

/** The ClientHello in `bytes` (all of a connection's first bytes at once). */
export function readClientHello(bytes: Buffer): ClientHelloResult {
  return new ClientHelloReader().push(bytes);
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
