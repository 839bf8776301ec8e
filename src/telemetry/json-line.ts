/**
 * Writing a JSON log line straight into a writer's batch (see BufferedLineWriter.writeEncoded), as
 * json-fragments.ts spells it (a test holds the two byte for byte).
 *
 * Profiling the proxy put the access log at a quarter of all instructions per request when lines were
 * built as strings, and still at a fifth when appended piece by piece (a native call per key and per
 * value). Most values repeat from one request to the next, so runs of such fields (FieldRun) keep their
 * spelled bytes, keys included, and a line is a handful of block copies plus the few values that change.
 */
import { writeLatin1 } from '../util/buffer-text.js';
import { isLoggedNumber, jsonNumberOrNull, jsonString, jsonStringOrNull, NEEDS_JSON_ESCAPE } from './json-fragments.js';

/** The line being written: bytes go to `room(n)` (the batch, with n bytes free at `pos`), then `pos` advances. */
export interface LineBytes {
  pos: number;
  room(n: number): Buffer;
}

/** Bytes of Latin-1 text (JSON text here is ASCII, or wire bytes decoded as Latin-1). */
export function latin1Bytes(s: string): Uint8Array {
  return Buffer.from(s, 'latin1');
}

/** Copies `src` into `b` at `p`; returns the end. One native copy: cheaper than a loop beyond a few bytes. */
export function putBytes(b: Uint8Array, p: number, src: Uint8Array): number {
  b.set(src, p);
  return p + src.length;
}

/** Copies ASCII text (digits, a timestamp) into `b` at `p`; returns the end. */
function putAscii(b: Uint8Array, p: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) b[p + i] = s.charCodeAt(i);
  return p + n;
}

/** Most bytes a JSON string literal for `s` takes: quotes, and each unit at worst a \u00XX escape. */
export function jsonStringBound(s: string | undefined): number {
  return s === undefined ? 4 : s.length * 6 + 2;
}

/** Strings at least this long are checked with one regex and copied natively; shorter ones byte by byte. (charCodeAt on a concatenated string, such as a traceparent, costs far more than the native copy.) */
const NATIVE_COPY = 24;

/** A JSON string literal for `s` at `p`, spelled as jsonString() spells it; returns the end. */
export function putJsonString(b: Buffer, p: number, s: string): number {
  const n = s.length;
  if (n >= NATIVE_COPY) {
    return NEEDS_JSON_ESCAPE.test(s) ? p + writeLatin1(b, jsonString(s), p) : putPlainJsonString(b, p, s);
  }
  b[p] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7f) return p + writeLatin1(b, jsonString(s), p);
    b[p + 1 + i] = c;
  }
  b[p + 1 + n] = 0x22;
  return p + n + 2;
}

/**
 * A JSON string literal for text the caller knows needs no escaping (ids this proxy made: hex digits
 * and dashes), without the escape check; spelled as jsonString() spells it. Returns the end.
 */
function putPlainJsonString(b: Buffer, p: number, s: string): number {
  b[p] = 0x22;
  writeLatin1(b, s, p + 1);
  b[p + 1 + s.length] = 0x22;
  return p + s.length + 2;
}

/** "null" */
function putNull(b: Uint8Array, p: number): number {
  b[p] = 0x6e;
  b[p + 1] = 0x75;
  b[p + 2] = 0x6c;
  b[p + 3] = 0x6c;
  return p + 4;
}

/**
 * A JSON string literal, or null when absent or empty (as jsonStringOrNull). `plain` says the caller
 * knows `s` needs no escaping (an id this proxy made): it is then copied without the escape check.
 */
export function putJsonStringOrNull(b: Buffer, p: number, s: string | undefined, plain = false): number {
  if (s === undefined || s === '') return putNull(b, p);
  return plain ? putPlainJsonString(b, p, s) : putJsonString(b, p, s);
}

/** A JSON number, or null (as jsonNumberOrNull); whole numbers are written digit by digit, without a string. */
export function putNumberOrNull(b: Uint8Array, p: number, n: number | undefined): number {
  if (!isLoggedNumber(n)) return putNull(b, p);
  if (n > Number.MAX_SAFE_INTEGER || !Number.isInteger(n)) return putAscii(b, p, String(n));
  let digits = 1;
  for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
  let v = n;
  for (let i = digits - 1; i >= 0; i--) {
    const q = Math.floor(v / 10);
    b[p + i] = 0x30 + (v - q * 10);
    v = q;
  }
  return p + digits;
}

/** Whole milliseconds, or null (as jsonMillisOrNull). */
export function putMillisOrNull(b: Uint8Array, p: number, ms: number | undefined): number {
  return putNumberOrNull(b, p, isLoggedNumber(ms) ? Math.floor(ms) : undefined);
}

/** One field of a run: the record's property, the JSON text before its value, and how the value is spelled. */
export type RunField<T> = readonly [name: keyof T & string, key: string, kind?: 'string' | 'number'];

/** Value combinations a run remembers; past this it starts over (a bound, not an LRU). */
const RUN_MEMORY = 8;

interface SpelledRun {
  values: unknown[];
  bytes: Uint8Array;
}

/**
 * Consecutive fields of a line whose values mostly repeat from one request to the next (protocol,
 * status, flags; authority, upstream host, cluster, ...): spelled once, keys included, and copied
 * whole when the same values come again. A handful of combinations are remembered, so round robin
 * over a few upstream hosts still hits.
 */
export class FieldRun<T> {
  private readonly names: ReadonlyArray<keyof T & string>;
  /** Whether a record's values equal a remembered combination, compiled per run (see below). */
  private readonly matches: (record: T, seen: readonly unknown[]) => boolean;
  private readonly spelled: SpelledRun[] = [];
  private next = 0;

  constructor(
    private readonly fields: ReadonlyArray<RunField<T>>,
    /** Constant JSON text that always follows the run (the next field's key): one block copy fewer per line. */
    private readonly suffix = '',
  ) {
    this.names = fields.map((f) => f[0]);
    // A loop over the names reads `record[name]` with a different key at one site, a megamorphic
    // keyed load per field (~3k instructions per line for 18 fields); a compiled check reads each
    // property at its own site. Names are the run's own identifiers, checked before they are compiled.
    for (const name of this.names) if (!/^[A-Za-z_$][\w$]*$/.test(name)) throw new Error(`FieldRun: "${name}" is not an identifier`);
    const test = this.names.map((name, i) => `seen[${i}] === record.${name}`).join(' && ');
    this.matches = new Function('record', 'seen', `return ${test};`) as (record: T, seen: readonly unknown[]) => boolean;
  }

  /** The spelled bytes for this record's values of the run's fields. */
  bytes(record: T): Uint8Array {
    const spelled = this.spelled;
    for (let e = 0; e < spelled.length; e++) if (this.matches(record, spelled[e]!.values)) return spelled[e]!.bytes;
    const values = this.names.map((name) => record[name] as unknown);
    let text = '';
    for (let i = 0; i < values.length; i++) {
      const [, key, kind] = this.fields[i]!;
      text += key + (kind === 'number' ? jsonNumberOrNull(values[i] as number | undefined) : jsonStringOrNull(values[i] as string | undefined));
    }
    const entry = { values, bytes: latin1Bytes(text + this.suffix) };
    if (spelled.length < RUN_MEMORY) spelled.push(entry);
    else spelled[this.next++ % RUN_MEMORY] = entry;
    return entry.bytes;
  }
}
