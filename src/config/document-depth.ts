/**
 * How deep a configuration document nests. The readers, the access-log format compiler, the worker IPC
 * (JSON) and /config_dump all recurse into what a file holds, and an opaque field (a filter's
 * typedConfig, an access log's jsonFormat) is carried as written: a value nested thousands deep there
 * overflowed the stack after the file had loaded, and a YAML alias inside its own anchor (`&t {x: *t}`)
 * made a value that contains itself. Envoy's and Istio's configs nest about 30 levels (objects and lists
 * counted alike), so 100 refuses nothing real.
 */
export const MAX_DOCUMENT_DEPTH = 100;

/** Where a document nests too deeply: the path (keys and list indices) to the value, and whether it contains itself. */
export interface TooDeep {
  path: Array<string | number>;
  containsItself: boolean;
}

/** The first value nested deeper than `max` or containing itself, or undefined. Iterative: it must not overflow itself. */
export function findTooDeep(document: unknown, max = MAX_DOCUMENT_DEPTH): TooDeep | undefined {
  if (typeof document !== 'object' || document === null) return undefined;
  const pending: Array<{ value: object; path: Array<string | number>; ancestors: object[] }> = [{ value: document, path: [], ancestors: [] }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, path, ancestors } = next;
    if (ancestors.includes(value)) return { path, containsItself: true };
    if (path.length >= max) return { path, containsItself: false };
    const entries: Array<[string | number, unknown]> = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      if (typeof child === 'object' && child !== null) pending.push({ value: child, path: [...path, key], ancestors: [...ancestors, value] });
    }
  }
  return undefined;
}
