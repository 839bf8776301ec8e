/**
 * Random trace and span ids as lower-case hex, and random UUIDs for x-request-id.
 *
 * Every request takes three ids, and a call into native code costs more than the rest of an id's
 * work, so ids are made in batches: one randomFillSync and one hex conversion per 4 KiB of random
 * bytes (170 requests' trace and span ids), one randomFillSync and one Latin-1 conversion per 64 UUIDs. An id is then a slice of the batch's
 * text, a V8 builtin. (Per id, crypto.randomUUID cost ~3k instructions per request in
 * bench/proxy-instructions; a native hex conversion per id ~0.6k.)
 *
 * A slice of 13 or more characters is a view that keeps its batch's text (8 KiB, 2.3 KiB) alive;
 * ids live as long as their request, so at most a few batches are held at once.
 */
import { randomFillSync } from 'node:crypto';
import { hexText, latin1Text } from '../util/buffer-text.js';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
/** `pool` as hex text: the id at pool[start, end) is poolHex.slice(2 * start, 2 * end). */
let poolHex = '';
let offset = POOL_BYTES;

/** Where `n` fresh random bytes start in the pool (refilled, with its hex text, when it runs short). */
function takeRandom(n: number): number {
  if (offset + n > POOL_BYTES) {
    randomFillSync(pool);
    poolHex = hexText(pool, 0, POOL_BYTES);
    offset = 0;
  }
  const start = offset;
  offset += n;
  return start;
}

/** `bytes` random bytes as 2*bytes hex characters, never all zeros (W3C and B3 reject zero ids). */
export function randomHex(bytes: number): string {
  for (;;) {
    const start = takeRandom(bytes);
    let any = 0;
    for (let i = start; i < offset; i++) any |= pool[i]!;
    if (any !== 0) return poolHex.slice(2 * start, 2 * offset);
  }
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const UUID_LENGTH = 36;
const UUID_BATCH = 64;
/** Where each random byte's two hex digits go in a UUID's text (dashes at 8, 13, 18 and 23). */
const UUID_DIGIT_AT = new Uint8Array([0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34]);
/** The batch's random bytes: its own, so the trace-id pool's hex text is all used. */
const uuidRandom = Buffer.allocUnsafe(16 * UUID_BATCH);
const uuidBytes = Buffer.alloc(UUID_LENGTH * UUID_BATCH);
let uuidText = '';
let uuidNext = UUID_BATCH;

/** Writes the UUIDv4 (RFC 9562) of uuidRandom[16k, 16k + 16) as text into uuidBytes. */
function writeUuid(k: number): void {
  const from = 16 * k;
  const at = UUID_LENGTH * k;
  for (let i = 0; i < 16; i++) {
    const b = uuidRandom[from + i]!;
    const p = at + UUID_DIGIT_AT[i]!;
    uuidBytes[p] = HEX_DIGITS[b >> 4]!;
    uuidBytes[p + 1] = HEX_DIGITS[b & 0x0f]!;
  }
  uuidBytes[at + 8] = uuidBytes[at + 13] = uuidBytes[at + 18] = uuidBytes[at + 23] = 0x2d;
  uuidBytes[at + 14] = 0x34; // version 4
  uuidBytes[at + 19] = HEX_DIGITS[((uuidRandom[from + 8]! >> 4) & 0x3) | 0x8]!; // variant 10xx
}

/** A random UUIDv4, lower-case ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"). */
export function randomUuid(): string {
  if (uuidNext === UUID_BATCH) {
    randomFillSync(uuidRandom);
    for (let k = 0; k < UUID_BATCH; k++) writeUuid(k);
    uuidText = latin1Text(uuidBytes, 0, uuidBytes.length);
    uuidNext = 0;
  }
  const at = uuidNext++ * UUID_LENGTH;
  return uuidText.slice(at, at + UUID_LENGTH);
}
