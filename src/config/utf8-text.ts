/**
 * A config file's bytes as text. Envoy's proto parser refuses strings that are not UTF-8; decoding them
 * leniently would turn each bad byte into U+FFFD and load, say, a Latin-1 "café" in a header value or a
 * domain as "caf\uFFFD", a value nobody wrote.
 */

const strict = new TextDecoder('utf-8', { fatal: true });

/** The text, or the 1-based line and column (in bytes) where the first byte that is not UTF-8 is. */
export function decodeUtf8(bytes: Uint8Array): { text: string } | { line: number; column: number } {
  try {
    return { text: strict.decode(bytes) };
  } catch {
    return { ...firstInvalidByte(bytes) };
  }
}

function firstInvalidByte(bytes: Uint8Array): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const length = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0 || !strictlyDecodes(bytes.subarray(i, i + length), length)) return { line, column: i - lineStart + 1 };
    if (b === 0x0a) {
      line++;
      lineStart = i + 1;
    }
    i += length;
  }
  return { line, column: bytes.length - lineStart + 1 };
}

function strictlyDecodes(sequence: Uint8Array, length: number): boolean {
  if (sequence.length < length) return false;
  try {
    strict.decode(sequence);
    return true;
  } catch {
    return false;
  }
}
