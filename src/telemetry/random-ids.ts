/**
 * Random trace and span ids as lower-case hex. Bytes come from a pool refilled by one
 * randomFillSync call per 4 KiB (256 trace ids), not one crypto call per id, and each id is one
 * native hex conversion (a flat string) rather than a concatenation per byte.
 */
import { randomFillSync } from 'node:crypto';

const pool = Buffer.allocUnsafe(4096);
let offset = pool.length;

/** `bytes` random bytes as 2*bytes hex characters, never all zeros (W3C and B3 reject zero ids). */
export function randomHex(bytes: number): string {
  for (;;) {
    if (offset + bytes > pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    const start = offset;
    offset += bytes;
    let any = 0;
    for (let i = start; i < offset; i++) any |= pool[i]!;
    if (any !== 0) return pool.toString('hex', start, offset);
  }
}
