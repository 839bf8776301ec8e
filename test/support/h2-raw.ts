/**
 * HTTP/2 written frame by frame on a raw socket, for faults no HTTP/2 library would send, and a
 * reader of what the server answers (RFC 9113 §4.1 framing, RFC 7541 literals).
 */
import net from 'node:net';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = {
  Data: 0,
  Headers: 1,
  Priority: 2,
  RstStream: 3,
  Settings: 4,
  PushPromise: 5,
  Ping: 6,
  GoAway: 7,
  WindowUpdate: 8,
  Continuation: 9,
} as const;

export const END_STREAM = 0x1;
export const ACK = 0x1;
export const END_HEADERS = 0x4;
export const PADDED = 0x8;
export const PRIORITY = 0x20;

export const ErrorCode = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  ENHANCE_YOUR_CALM: 11,
} as const;

/** One frame; `length` may lie about the payload's size. */
export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0), length = payload.length): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream >>> 0, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK literal field without indexing, new name (RFC 7541 §6.2.2); names and values under 127 bytes. */
export function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name, 'latin1'), Buffer.from([value.length]), Buffer.from(value, 'latin1')]);
}

/**
 * Hands each whole frame at the start of `buf` to `onFrame` (type, flags, stream id, payload) and
 * returns the bytes left, the start of a frame still to come.
 */
export function readFrames(buf: Buffer, onFrame: (type: number, flags: number, stream: number, payload: Buffer) => void): Buffer {
  let rest = buf;
  while (rest.length >= 9) {
    const length = rest.readUIntBE(0, 3);
    if (rest.length < 9 + length) break;
    onFrame(rest[3]!, rest[4]!, rest.readUInt32BE(5) & 0x7fffffff, rest.subarray(9, 9 + length));
    rest = rest.subarray(9 + length);
  }
  return rest;
}

/** HPACK static-table entries used by requests: :method GET/POST, :scheme http. */
export const GET = Buffer.from([0x82]);
export const POST = Buffer.from([0x83]);
export const SCHEME_HTTP = Buffer.from([0x86]);

/** :method GET, :scheme http, :path as given, :authority localhost, then `extra`. */
export function requestBlock(path: string, ...extra: Buffer[]): Buffer {
  return Buffer.concat([GET, SCHEME_HTTP, literal(':path', path), literal(':authority', 'localhost'), ...extra]);
}

/** A SETTINGS payload from [identifier, value] pairs. */
export function settings(...pairs: Array<[number, number]>): Buffer {
  const b = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([id, value], i) => {
    b.writeUInt16BE(id, 6 * i);
    b.writeUInt32BE(value >>> 0, 6 * i + 2);
  });
  return b;
}

/** A 31-bit value in 4 bytes (WINDOW_UPDATE increment, RST_STREAM code, priority dependency). */
export function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}

/** Statuses nghttp2 sends as one static-table index (RFC 7541 Appendix A, entries 8 to 14). */
const STATIC_STATUS = new Map([[0x88, 200], [0x89, 204], [0x8a, 206], [0x8b, 304], [0x8c, 400], [0x8d, 404], [0x8e, 500]]);

export interface H2Outcome {
  /** Error code of each RST_STREAM, by stream id. */
  resets: Map<number, number>;
  /** Error code of the GOAWAY, if one came. */
  goaway: number | undefined;
  /** Response status by stream id (0 when not one of the static-table statuses). */
  statuses: Map<number, number>;
  /** Payloads of PING ACKs received. */
  pingAcks: Buffer[];
  /** SETTINGS ACKs received. */
  settingsAcks: number;
  /** Payload length of each DATA frame received (padding included), by stream id. */
  data: Map<number, number[]>;
  /** The server closed the connection. */
  closed: boolean;
  /** Milliseconds from the first write to the close. */
  closedAfterMs: number | undefined;
}

/**
 * Writes `bytes` (after the preface and an empty SETTINGS unless `raw`; one write each, `gapMs` apart, if given), answers the server's
 * SETTINGS and PINGs as a live client does, and collects what comes back until `enough` says so or `ms` have passed.
 */
export function exchange(port: number, bytes: Buffer[], opts: { ms?: number; raw?: boolean; gapMs?: number; enough?: (o: H2Outcome) => boolean } = {}): Promise<H2Outcome> {
  const ms = opts.ms ?? 1500;
  const enough = opts.enough ?? (() => false);
  return new Promise((resolve) => {
    const out: H2Outcome = { resets: new Map(), goaway: undefined, statuses: new Map(), pingAcks: [], settingsAcks: 0, data: new Map(), closed: false, closedAfterMs: undefined };
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let buf: Buffer = Buffer.alloc(0);
    let finished = false;
    // Answers wait until the client's own preface and SETTINGS are out, as a real client's do.
    let held: Buffer[] | undefined = opts.gapMs === undefined ? undefined : [];
    const reply = (b: Buffer): void => {
      if (held !== undefined) held.push(b);
      else if (!finished && !socket.destroyed) socket.write(b);
    };
    const done = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(out);
    };
    socket.on('data', (chunk: Buffer) => {
      buf = readFrames(Buffer.concat([buf, chunk]), (type, flags, stream, payload) => {
        if (type === FrameType.Data) out.data.set(stream, [...(out.data.get(stream) ?? []), payload.length]);
        else if (type === FrameType.RstStream) out.resets.set(stream, payload.readUInt32BE(0));
        else if (type === FrameType.GoAway) out.goaway = payload.readUInt32BE(4);
        else if (type === FrameType.Headers && !out.statuses.has(stream)) out.statuses.set(stream, STATIC_STATUS.get(payload[(flags & PADDED ? 1 : 0) + (flags & PRIORITY ? 5 : 0)]!) ?? 0);
        else if (type === FrameType.Ping && flags & ACK) out.pingAcks.push(Buffer.from(payload));
        else if (type === FrameType.Ping) reply(frame(FrameType.Ping, ACK, 0, payload));
        else if (type === FrameType.Settings && flags & ACK) out.settingsAcks++;
        else if (type === FrameType.Settings) reply(frame(FrameType.Settings, ACK, 0));
      });
      if (enough(out)) done();
    });
    socket.on('error', () => undefined);
    const timer = setTimeout(done, ms);
    socket.on('close', () => {
      out.closed = true;
      out.closedAfterMs = Date.now() - started;
      done();
    });
    socket.on('end', () => {
      out.closed = true;
      out.closedAfterMs = Date.now() - started;
      done();
    });
    const writes = opts.raw ? bytes : [PREFACE, frame(FrameType.Settings, 0, 0), ...bytes];
    if (opts.gapMs === undefined) socket.write(Buffer.concat(writes));
    else {
      // One segment per buffer, apart in time, as a slow or fragmenting network delivers them.
      socket.setNoDelay(true);
      writes.forEach((b, i) =>
        setTimeout(() => {
          if (socket.destroyed) return;
          socket.write(b);
          if (i === writes.length - 1) {
            for (const r of held!) socket.write(r);
            held = undefined;
          }
        }, i * opts.gapMs!),
      );
    }
  });
}
