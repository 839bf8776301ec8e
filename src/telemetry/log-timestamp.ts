/**
 * ISO-8601 UTC timestamps with milliseconds ("2026-11-25T01:52:12.345Z"), as Envoy prints
 * %START_TIME%. The part up to the second is cached, so a line costs a few concatenations
 * instead of a Date and toISOString().
 */

/** The cached second: its text up to the second ("2026-11-25T01:52:12.") as a string and as bytes. */
let cachedSecond = -1;
let cachedPrefix = '';
const prefixBytes = new Uint8Array(20);

function cacheSecond(second: number): void {
  if (second === cachedSecond) return;
  cachedSecond = second;
  cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  for (let i = 0; i < 20; i++) prefixBytes[i] = cachedPrefix.charCodeAt(i);
}

/** Formats an epoch time in milliseconds. */
export function formatTimestamp(epochMs: number): string {
  const ms = Math.floor(epochMs);
  const second = Math.floor(ms / 1000);
  cacheSecond(second);
  const frac = ms - second * 1000;
  return cachedPrefix + (frac < 10 ? '00' : frac < 100 ? '0' : '') + frac + 'Z';
}

/** Writes formatTimestamp(epochMs) into `b` at `p` (24 bytes, no string); returns the end. */
export function putTimestamp(b: Uint8Array, p: number, epochMs: number): number {
  const ms = Math.floor(epochMs);
  const second = Math.floor(ms / 1000);
  cacheSecond(second);
  b.set(prefixBytes, p);
  const frac = ms - second * 1000;
  b[p + 20] = 0x30 + Math.floor(frac / 100);
  b[p + 21] = 0x30 + (Math.floor(frac / 10) % 10);
  b[p + 22] = 0x30 + (frac % 10);
  b[p + 23] = 0x5a;
  return p + 24;
}
