/**
 * JSON configuration without the YAML library. JSON is YAML, so a JSON bootstrap could go through
 * the YAML parser, but loading that library costs a worker ~9 MB of resident memory for the life of
 * the process (measured: 39.3 → 48.1 MB for a bare Node). JSON.parse keeps the last of two equal
 * keys without a word, while the YAML path rejects duplicates, so this module checks for them too.
 */

/** A problem with the text, and the 1-based line it is on. */
export interface JsonProblem {
  line: number;
  message: string;
}

/** True when the text is meant as JSON: its first non-blank character opens an object. */
export function looksLikeJsonObject(text: string): boolean {
  return /^\s*\{/.test(text);
}

/**
 * Parses JSON text, rejecting duplicate keys in any object with the line of the second one.
 * `syntaxError` when the text is not valid JSON: the caller hands it to the YAML parser, which reads
 * any text the YAML path read before and says on which line a problem is (V8's JSON errors do not
 * always give a position); JSON's own message is the clearer one to show with that line.
 */
export function parseJsonDocument(text: string): { value: unknown } | { problem: JsonProblem } | { syntaxError: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { syntaxError: (err as Error).message };
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate) return { problem: { line: lineAt(text, duplicate.offset), message: `duplicate key "${duplicate.key}"` } };
  return { value };
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 0x0a) line++;
  return line;
}

/**
 * The first key that appears twice in one object of already valid JSON text, with where its second
 * appearance starts. Keys are compared decoded, so "a" and "\u0061" are the same key.
 */
export function findDuplicateKey(text: string): { key: string; offset: number } | undefined {
  // One entry per open object or array: the keys seen so far, or null for an array.
  const open: Array<Set<string> | null> = [];
  // Inside an object, whether the next string is a key (after "{" or ",") rather than a value.
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      const keys = open[open.length - 1];
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (keys.has(key)) return { key, offset: start };
        keys.add(key);
        expectKey = false;
      }
    } else if (c === 0x7b) {
      open.push(new Set());
      expectKey = true;
    } else if (c === 0x5b) {
      open.push(null);
      expectKey = false;
    } else if (c === 0x7d || c === 0x5d) {
      open.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      expectKey = open[open.length - 1] != null;
    }
  }
  return undefined;
}
