/**
 * Appending a JSON log line piece by piece into a writer's batch (see BufferedLineWriter.writeEncoded):
 * constant JSON text as pre-encoded bytes, values byte by byte. Building the same line as a string took
 * ~60 concatenations, then a flatten and a copy into the batch; on the proxy's hot path that was the
 * access log's cost. The spelling is json-fragments.ts's, which a test holds byte for byte.
 */
import { isLoggedNumber, jsonString } from './json-fragments.js';

/** The line being written: bytes go to `room(n)` (the batch, with n bytes free at `pos`), then `pos` advances. */
export interface LineBytes {
  pos: number;
  room(n: number): Buffer;
}

/** The bytes of "null" as one big-endian word. */
const NULL = 0x6e756c6c;

/** Constant JSON text as the bytes appendText copies. */
export function constantText(s: string): Uint8Array {
  return Buffer.from(s, 'latin1');
}

export function appendText(out: LineBytes, bytes: Uint8Array): void {
  out.room(bytes.length).set(bytes, out.pos);
  out.pos += bytes.length;
}

/** Plain ASCII produced by the caller (a timestamp, a number's digits). */
export function appendAscii(out: LineBytes, s: string): void {
  const n = s.length;
  const b = out.room(n);
  let p = out.pos;
  for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
  out.pos = p;
}

/** A JSON string literal, spelled as jsonString() spells it. */
export function appendJson(out: LineBytes, s: string): void {
  const n = s.length;
  const b = out.room(n + 2);
  const start = out.pos;
  let p = start;
  b[p++] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0xff) {
      // Needs escaping or UTF-8 spelling: the string path knows how; rare on real traffic.
      const literal = jsonString(s);
      out.pos = start + out.room(literal.length).write(literal, start, 'latin1');
      return;
    }
    b[p++] = c;
  }
  b[p++] = 0x22;
  out.pos = p;
}

/** A JSON string literal, or null when absent or empty (as jsonStringOrNull). */
export function appendJsonOrNull(out: LineBytes, s: string | undefined): void {
  if (s === undefined || s === '') appendNull(out);
  else appendJson(out, s);
}

/** A JSON number, or null (as jsonNumberOrNull). */
export function appendNumberOrNull(out: LineBytes, n: number | undefined): void {
  if (isLoggedNumber(n)) appendAscii(out, String(n));
  else appendNull(out);
}

/** Whole milliseconds, or null (as jsonMillisOrNull). */
export function appendMillisOrNull(out: LineBytes, ms: number | undefined): void {
  if (isLoggedNumber(ms)) appendAscii(out, String(Math.floor(ms)));
  else appendNull(out);
}

function appendNull(out: LineBytes): void {
  out.room(4).writeUInt32BE(NULL, out.pos);
  out.pos += 4;
}
