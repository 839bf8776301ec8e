/**
 * ISO-8601 UTC timestamps with milliseconds ("2026-11-25T01:52:12.345Z"), as Envoy prints
 * %START_TIME%. The part up to the second is cached, so a line costs a few concatenations
 * instead of a Date and toISOString().
 */

let cachedSecond = -1;
let cachedPrefix = '';

/** Formats an epoch time in milliseconds. */
export function formatTimestamp(epochMs: number): string {
  const ms = Math.floor(epochMs);
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const frac = ms - second * 1000;
  return cachedPrefix + (frac < 10 ? '00' : frac < 100 ? '0' : '') + frac + 'Z';
}
