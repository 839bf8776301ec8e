/**
 * Random trace and span ids as lower-case hex. Bytes come from a pool refilled by one
 * randomFillSync call per 4 KiB (256 trace ids), not one crypto call per id.
 */
import { randomFillSync } from 'node:crypto';

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i < 16 ? '0' : '') + i.toString(16));

const pool = Buffer.allocUnsafe(4096);
let offset = pool.length;

/** `bytes` random bytes as 2*bytes hex characters, never all zeros (W3C and B3 reject zero ids). */
export function randomHex(bytes: number): string {
  for (;;) {
    if (offset + bytes > pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    let s = '';
    let any = 0;
    for (let i = 0; i < bytes; i++) {
      const b = pool[offset + i]!;
      any |= b;
      s += HEX[b];
    }
    offset += bytes;
    if (any !== 0) return s;
  }
}
