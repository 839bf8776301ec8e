/**
 * Pieces of JSON text for building a line by concatenation. Most values (paths, hosts, ids) need
 * no escaping, so the fast path is one regex test and two concatenations.
 */

const SLOW_PATH = /["\\\u0000-\u001f\u0100-\uffff]/;
const WIDE = /[\u0100-\uffff]/;

/**
 * A JSON string literal for `s`, as Latin-1 text: lines are written one byte per character, so
 * characters beyond U+00FF (a certificate's SAN, say) are first spelled as their UTF-8 bytes.
 */
export function jsonString(s: string): string {
  if (!SLOW_PATH.test(s)) return '"' + s + '"';
  return JSON.stringify(WIDE.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s);
}

/** A JSON string literal, or null when the value is absent or empty. */
export function jsonStringOrNull(s: string | undefined): string {
  return s === undefined || s === '' ? 'null' : jsonString(s);
}

/** A number the log prints: present, not negative (unset) and finite; anything else is null. */
export function isLoggedNumber(n: number | undefined): n is number {
  return n !== undefined && n >= 0 && n !== Infinity;
}

/** A JSON number, or null when the value is absent, negative (unset) or not finite. */
export function jsonNumberOrNull(n: number | undefined): string {
  return isLoggedNumber(n) ? String(n) : 'null';
}

/** Whole milliseconds (truncated, as Envoy's %DURATION%), or null when absent, negative or not finite. */
export function jsonMillisOrNull(ms: number | undefined): string {
  return isLoggedNumber(ms) ? String(Math.floor(ms)) : 'null';
}
