import { readFileSync } from 'node:fs';

/** The first line of the log at `path` that starts with `marker`, waiting up to 5 s for it to be written. */
export async function logLineStartingWith(path: string, marker: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    try {
      const hit = readFileSync(path, 'latin1').split('\n').find((l) => l.startsWith(marker));
      if (hit) return hit;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no line starting ${marker} in ${path}`);
}

/** A "marker key=value key=value" line's fields. */
export function keyValueFields(line: string): Record<string, string> {
  return Object.fromEntries(line.split(' ').slice(1).map((kv) => kv.split('=') as [string, string]));
}
