/**
 * A RE2 pattern from config, rewritten to run on wire bytes (one Latin-1 character per byte, see
 * wire-text.ts). A non-ASCII character becomes the group of its UTF-8 bytes, so "é+" still repeats
 * the whole character. What cannot be rewritten that way is refused: a non-ASCII character inside a
 * character class ([éè] would become a set of single bytes) and an escape naming a code point above
 * 0x7F (\x{e9} would match the one byte E9).
 */
import { wireText } from './wire-text.js';

export class WireRegexError extends Error {}

/** The pattern for wire bytes; throws WireRegexError for a pattern that has no such form. */
export function wireRegex(pattern: string): string {
  const chars = Array.from(pattern);
  let out = '';
  let inClass = false;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\\') {
      const end = escapeEnd(chars, i);
      const escape = chars.slice(i, end).join('');
      const named = /^\\x\{?([0-9a-fA-F]+)\}?$/.exec(escape);
      if (named && parseInt(named[1]!, 16) > 0x7f) throw new WireRegexError(`"${escape}" names a non-ASCII character; write the character itself, outside a character class`);
      if (inClass && escape !== wireText(escape)) throw nonAsciiInClass(escape);
      // Inside \Q...\E every character is a literal, so the bytes go in as they are.
      out += wireText(escape);
      i = end - 1;
    } else if (c.codePointAt(0)! > 0x7f) {
      if (inClass) throw nonAsciiInClass(c);
      out += `(?:${wireText(c)})`;
    } else if (inClass) {
      const posixEnd = c === '[' && chars[i + 1] === ':' ? posixClassEnd(chars, i + 2) : -1;
      if (posixEnd > 0) {
        // A POSIX class such as [:alpha:] inside a bracket expression: its "]" does not close the class.
        out += chars.slice(i, posixEnd).join('');
        i = posixEnd - 1;
      } else {
        out += c;
        if (c === ']') inClass = false;
      }
    } else {
      out += c;
      if (c === '[') {
        inClass = true;
        // "[]...]" and "[^]...]": a "]" first in the class is a literal.
        if (chars[i + 1] === '^') out += chars[++i];
        if (chars[i + 1] === ']') out += chars[++i];
      }
    }
  }
  return out;
}

function nonAsciiInClass(text: string): WireRegexError {
  return new WireRegexError(`a character class cannot hold the non-ASCII "${text}": it would match single bytes of its UTF-8 form; use an alternation such as (?:é|è)`);
}

/** Where the escape starting at chars[i] (a backslash) ends: \x{...}, \xHH, \Q...\E, or one character. */
function escapeEnd(chars: readonly string[], i: number): number {
  const next = chars[i + 1];
  if (next === 'x' && chars[i + 2] === '{') {
    const close = chars.indexOf('}', i + 3);
    return close < 0 ? chars.length : close + 1;
  }
  if (next === 'x') return Math.min(i + 4, chars.length);
  if (next === 'Q') {
    for (let j = i + 2; j < chars.length - 1; j++) if (chars[j] === '\\' && chars[j + 1] === 'E') return j + 2;
    return chars.length;
  }
  return Math.min(i + 2, chars.length);
}

/** The index after the ":]" closing a POSIX class whose name starts at chars[from], or -1. */
function posixClassEnd(chars: readonly string[], from: number): number {
  for (let j = from; j < chars.length - 1; j++) {
    if (chars[j] === ':' && chars[j + 1] === ']') return j + 2;
    if (!/[a-z]/.test(chars[j]!)) return -1;
  }
  return -1;
}
