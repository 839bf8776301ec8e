/**
 * Random trace and span ids as lower-case hex. Bytes come from a pool refilled by one
 * randomFillSync call per 4 KiB (256 trace ids), not one crypto call per id, and each id is one
 * native hex conversion (a flat string) rather than a concatenation per byte.
 */
import { randomFillSync } from 'node:crypto';
import { hexText, latin1Text } from '../util/buffer-text.js';

const pool = Buffer.allocUnsafe(4096);
let offset = pool.length;

/** Where `n` fresh random bytes start in the pool (refilled when it runs short). */
function takeRandom(n: number): number {
  if (offset + n > pool.length) {
    randomFillSync(pool);
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
    if (any !== 0) return hexText(pool, start, offset);
  }
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const uuidText = Buffer.alloc(36);

/**
 * A random UUIDv4 (RFC 9562) from the same pool: hex digits written into a scratch buffer and read
 * as one flat string. crypto.randomUUID builds its string by ~20 concatenations, which showed as
 * ~3k instructions per request in bench/proxy-instructions; this is about a quarter of that.
 */
export function randomUuid(): string {
  const start = takeRandom(16);
  let out = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) uuidText[out++] = 0x2d;
    let b = pool[start + i]!;
    if (i === 6) b = (b & 0x0f) | 0x40; // version 4
    else if (i === 8) b = (b & 0x3f) | 0x80; // variant 10xx
    uuidText[out++] = HEX_DIGITS[b >> 4]!;
    uuidText[out++] = HEX_DIGITS[b & 0x0f]!;
  }
  return latin1Text(uuidText, 0, 36);
}
