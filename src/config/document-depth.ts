/**
 * How deep a configuration document nests. The readers, the access-log format compiler, the worker IPC
 * (JSON) and /config_dump all recurse into what a file holds, and an opaque field (a filter's
 * typedConfig, an access log's jsonFormat) is carried as written: a value nested thousands deep there
 * overflowed the stack after the file had loaded. Envoy's and Istio's configs nest about 30 levels
 * (objects and lists counted alike), so 100 refuses nothing real.
 */
export const MAX_DOCUMENT_DEPTH = 100;

/** The path (keys and list indices) to the first value nested deeper than `max`, or undefined. Iterative: it must not overflow itself. */
export function pathDeeperThan(document: unknown, max = MAX_DOCUMENT_DEPTH): Array<string | number> | undefined {
  if (typeof document !== 'object' || document === null) return undefined;
  const pending: Array<{ value: object; path: Array<string | number> }> = [{ value: document, path: [] }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, path } = next;
    if (path.length >= max) return path;
    const entries: Array<[string | number, unknown]> = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      if (typeof child === 'object' && child !== null) pending.push({ value: child, path: [...path, key] });
    }
  }
  return undefined;
}
