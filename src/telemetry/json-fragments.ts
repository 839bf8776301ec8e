/**
 * Pieces of JSON text for building a line by concatenation. Most values (paths, hosts, ids) need
 * no escaping, so the fast path is one regex test and two concatenations.
 */

const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;

/** A JSON string literal for `s`. */
export function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"';
}

/** A JSON string literal, or null when the value is absent or empty. */
export function jsonStringOrNull(s: string | undefined): string {
  return s === undefined || s === '' ? 'null' : jsonString(s);
}

/** A JSON number, or null when the value is absent, negative (unset) or not finite. */
export function jsonNumberOrNull(n: number | undefined): string {
  return n === undefined || !(n >= 0) || n === Infinity ? 'null' : String(n);
}

/** Whole milliseconds (truncated, as Envoy's %DURATION%), or null when absent, negative or not finite. */
export function jsonMillisOrNull(ms: number | undefined): string {
  return ms === undefined || !(ms >= 0) || ms === Infinity ? 'null' : String(Math.floor(ms));
}
