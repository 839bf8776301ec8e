import net, { type AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';

const HANDSHAKE = 0x16;

/** One TLS record as it came on the wire. */
export interface WireRecord {
  type: number;
  /** The record's payload (without its 5-byte header). */
  payload: Buffer;
}

/**
 * The first bytes a TLS client sends (its ClientHello, in as many records as it chose): a plain TCP
 * server takes them, and hangs up once `client` has sent nothing more for `quietMs`.
 * `client` connects to the given port (openssl s_client, tls.connect) and may fail once cut off.
 */
export function captureClientHello(client: (port: number) => void, quietMs = 300): Promise<Buffer> {
  return new Promise<Buffer>((resolve) => {
    const server = net.createServer((s) => {
      let got = Buffer.alloc(0);
      let quiet: NodeJS.Timeout | undefined;
      s.on('error', () => undefined);
      s.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        clearTimeout(quiet);
        quiet = setTimeout(() => {
          resolve(got);
          s.destroy();
          server.close();
        }, quietMs);
      });
    });
    server.listen(0, '127.0.0.1', () => client((server.address() as AddressInfo).port));
  });
}

/** The records in `bytes`, in order; a trailing partial record is left out. */
export function wireRecords(bytes: Buffer): WireRecord[] {
  const out: WireRecord[] = [];
  for (let p = 0; p + 5 <= bytes.length; ) {
    const len = bytes.readUInt16BE(p + 3);
    if (p + 5 + len > bytes.length) break;
    out.push({ type: bytes[p]!, payload: bytes.subarray(p + 5, p + 5 + len) });
    p += 5 + len;
  }
  return out;
}

/** Records of `type` (TLS 1.0 on the record layer, as clients write a ClientHello) carrying `payloads`. */
export function tlsRecords(type: number, ...payloads: Buffer[]): Buffer {
  return Buffer.concat(payloads.flatMap((b) => [Buffer.from([type, 3, 1, b.length >> 8, b.length & 0xff]), b]));
}

/** `bytes` with the payload of each handshake record cut into records of at most `size` bytes; other records as they are. */
export function refragmentHandshake(bytes: Buffer, size: number): Buffer {
  const out: Buffer[] = [];
  let whole = 0;
  for (const r of wireRecords(bytes)) {
    whole += 5 + r.payload.length;
    if (r.type !== HANDSHAKE) out.push(tlsRecords(r.type, r.payload));
    else for (let p = 0; p < r.payload.length; p += size) out.push(tlsRecords(HANDSHAKE, r.payload.subarray(p, p + size)));
  }
  out.push(bytes.subarray(whole));
  return Buffer.concat(out);
}

/**
 * A TCP connection to `port` for tls.connect({ socket }) whose first write (the ClientHello) goes out
 * re-cut into handshake records of at most `size` bytes, as a client that fragments its hello sends it;
 * everything after goes as the TLS client wrote it.
 */
export function fragmentingConnection(port: number, size: number): Duplex {
  const socket = net.connect(port, '127.0.0.1');
  let first = true;
  const duplex = new Duplex({
    write(chunk: Buffer, _encoding, done) {
      socket.write(first ? refragmentHandshake(chunk, size) : chunk, done);
      first = false;
    },
    read() {
      socket.resume();
    },
    final(done) {
      socket.end(done);
    },
    destroy(err, done) {
      socket.destroy();
      done(err);
    },
  });
  socket.on('data', (d: Buffer) => {
    if (!duplex.push(d)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('error', (err) => duplex.destroy(err));
  return duplex;
}
