/**
 * Pieces of JSON text for building a line by concatenation. Most values (paths, hosts, ids) need
 * no escaping, so the fast path is one regex test and two concatenations.
 */
import { isUtf8 } from 'node:buffer';

/** Characters jsonString() must treat: quote, backslash, controls, and everything above 0x7F. */
export const NEEDS_JSON_ESCAPE = /["\\\u0000-\u001f\u0080-\uffff]/;
const WIDE = /[\u0100-\uffff]/;
const HIGH_BYTE = /[\u0080-\u00ff]/g;

/**
 * A JSON string literal for `s`, as Latin-1 text: lines are written one byte per character, so
 * characters beyond U+00FF (a certificate's SAN, say) are first spelled as their UTF-8 bytes.
 * Wire bytes (header values, paths: one Latin-1 character per byte) that form valid UTF-8 are
 * written as they came; otherwise each byte above 0x7F is written as a \u00XX escape, so every line
 * stays valid UTF-8 (strict JSON readers refuse a line with a stray 0xE9).
 */
export function jsonString(s: string): string {
  if (!NEEDS_JSON_ESCAPE.test(s)) return '"' + s + '"';
  if (WIDE.test(s)) return JSON.stringify(Buffer.from(s, 'utf8').toString('latin1'));
  const literal = JSON.stringify(s);
  return isUtf8(Buffer.from(s, 'latin1')) ? literal : literal.replace(HIGH_BYTE, escapeHighByte);
}

function escapeHighByte(c: string): string {
  return '\\u00' + c.charCodeAt(0).toString(16);
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
