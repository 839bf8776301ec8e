/**
 * The data path holds header values, targets and hosts as wire bytes, one Latin-1 character per
 * byte; config text is Unicode. Config text that is compared with, or written as, wire bytes is
 * turned into its UTF-8 bytes held the same way, once at compile time, so "café" in a route meets
 * the bytes a client sends for it (63 61 66 C3 A9) and goes out as them, as in Envoy.
 */

const NON_ASCII = /[^\u0000-\u007f]/;
const ASCII_CAPITAL = /[A-Z]/g;
/** The wire characters toLowerCase changes besides A-Z: Latin-1 capitals, i.e. UTF-8 lead and continuation bytes. */
const LATIN1_CAPITAL = /[\u00c0-\u00d6\u00d8-\u00de]/;

/** `text`'s UTF-8 bytes as a Latin-1 string; ASCII text is returned as it is. */
export function wireText(text: string): string {
  return NON_ASCII.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

/**
 * Lower-cases the ASCII letters of wire bytes only, as Envoy's ignore_case does: toLowerCase would
 * also fold Latin-1 capitals, that is UTF-8 lead and continuation bytes, and make different
 * characters compare equal.
 */
export function asciiLower(text: string): string {
  const lower = text.toLowerCase();
  // Most values have no capital at all, and toLowerCase hands those back as they are.
  return lower === text || !LATIN1_CAPITAL.test(text) ? lower : text.replace(ASCII_CAPITAL, lowerLetter);
}

function lowerLetter(letter: string): string {
  return String.fromCharCode(letter.charCodeAt(0) | 0x20);
}
