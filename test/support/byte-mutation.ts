/** Seeded byte-level mutation for fuzz tests: the same seed gives the same cases, so a failure is reproducible. */

/** xorshift32: a deterministic stream of numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** Bytes HTTP parsers treat specially: line ends, NUL, separators, digits, hex, list and extension marks. */
const INTERESTING = [0x0d, 0x0a, 0x00, 0x3a, 0x20, 0x09, 0xff, 0x7f, 0x30, 0x39, 0x2c, 0x3b, 0x2d, 0x66];

/** One to four edits of `seed`: a byte replaced, inserted or dropped, a run repeated, a cut, a number inserted. */
export function mutate(seed: Buffer, rand: () => number): Buffer {
  let b = Buffer.from(seed);
  const edits = 1 + Math.floor(rand() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rand() * (b.length + 1));
    const kind = Math.floor(rand() * 6);
    const byte = rand() < 0.7 ? INTERESTING[Math.floor(rand() * INTERESTING.length)]! : Math.floor(rand() * 256);
    if (kind === 0 && at < b.length) b[at] = byte;
    else if (kind === 1) b = Buffer.concat([b.subarray(0, at), Buffer.of(byte), b.subarray(at)]);
    else if (kind === 2 && at < b.length) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    else if (kind === 3) {
      const len = Math.floor(rand() * 40);
      b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
    } else if (kind === 4) b = b.subarray(0, at);
    else b = Buffer.concat([b.subarray(0, at), Buffer.from(String(Math.floor(rand() * 1e12))), b.subarray(at)]);
  }
  return b;
}
