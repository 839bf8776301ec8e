/**
 * Seeded structural mutation of a configuration document (plain JSON-like values), for fuzz tests of
 * config loading: a field deleted, a value of another type, a number out of range, a bad duration or
 * enum value, a resource duplicated, deep nesting, a very long string, an unknown or doubly spelled key.
 * The same seed gives the same cases, so a failure is reproducible.
 */

type Json = unknown;
type Path = Array<string | number>;

/** Numbers and number-like strings no field should take as they are. */
const BAD_NUMBERS: readonly unknown[] = [-1, -0.5, 1.5, 2 ** 53 + 2, 1e309, -1e309, Number.NaN, '99999999999999999999', 'NaN', '1e3', '0x10', '', '-0', 4294967296];
const BAD_DURATIONS: readonly unknown[] = ['5x', '-1s', '1e9s', 's', '1.s', '.5s', '1 s', '1s1', 5, '99999999999999999999999h', { seconds: -1 }, { seconds: 'x' }, { seconds: 1e309 }, { nanos: 1, other: 2 }, '0.0000001ns'];
const OTHER_TYPES: readonly unknown[] = ['text', 7, 0, true, null, [], ['x'], {}, { x: 1 }, [{}]];

/** One mutation: the changed document and what was done (for a failure message). */
export interface Mutation {
  document: Json;
  what: string;
}

/** Every path in `value` to a node (objects' keys and lists' indices), the root excluded, down to `maxDepth`. */
export function nodePaths(value: Json, maxDepth = 40, prefix: Path = [], out: Path[] = []): Path[] {
  if (prefix.length >= maxDepth) return out;
  const visit = (k: string | number, v: Json) => {
    out.push([...prefix, k]);
    nodePaths(v, maxDepth, [...prefix, k], out);
  };
  if (Array.isArray(value)) value.forEach((v, i) => visit(i, v));
  else if (isObject(value)) for (const [k, v] of Object.entries(value)) visit(k, v);
  return out;
}

/** `path` as the loader's errors write it, for failure messages. */
export function pathText(path: Path): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').slice(1);
}

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function getAt(root: Json, path: Path): Json {
  let v = root;
  for (const p of path) v = (v as Record<string | number, Json>)[p];
  return v;
}

/** A copy of `root` with the node at `path` replaced by `edit(old)`, or removed when edit returns `REMOVE`. */
function editAt(root: Json, path: Path, edit: (old: Json) => Json): Json {
  if (path.length === 0) {
    const next = edit(structuredClone(root));
    return next === REMOVE ? {} : next;
  }
  const copy = structuredClone(root);
  const parent = getAt(copy, path.slice(0, -1)) as Record<string | number, Json>;
  const key = path[path.length - 1]!;
  const next = edit(parent[key]);
  if (next === REMOVE) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else parent[key] = next;
  return copy;
}

const REMOVE = Symbol('remove');

function camelToSnake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
}

/** A placeholder for deep nesting, written out as text by `serialize` (JSON.stringify and structuredClone recurse). */
const DEEP = /"?@@deep-(list|map)-(\d+)@@"?/g;

function nestedText(kind: string, depth: number): string {
  return kind === 'list' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** The document as JSON or YAML text, deep-nesting placeholders written out. NaN and infinities need YAML. */
export function serialize(document: Json, format: 'json' | 'yaml', stringifyYaml: (v: Json) => string): string {
  const hasNonFinite = JSON.stringify(document, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? '@@non-finite@@' : v)).includes('@@non-finite@@');
  const text = format === 'json' && !hasNonFinite ? JSON.stringify(document, null, 1) : stringifyYaml(document);
  return text.replace(DEEP, (_m, kind: string, depth: string) => nestedText(kind, Number(depth)));
}

/** Draws mutations of `document` from `rand`. */
export class ConfigMutator {
  constructor(private readonly rand: () => number) {}

  private int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  private pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }

  /** One to three mutations of `document`, each at a random node. */
  mutate(document: Json): Mutation {
    let doc = document;
    const what: string[] = [];
    const rounds = 1 + this.int(3);
    for (let i = 0; i < rounds; i++) {
      const paths = nodePaths(doc);
      if (paths.length === 0) break;
      const step = this.mutateOnce(doc, this.pick(paths));
      doc = step.document;
      what.push(step.what);
    }
    return { document: doc, what: what.join('; ') };
  }

  private mutateOnce(doc: Json, path: Path): Mutation {
    const at = pathText(path);
    const old = getAt(doc, path);
    const key = path[path.length - 1]!;
    switch (this.int(10)) {
      case 0:
        return { document: editAt(doc, path, () => REMOVE), what: `deleted ${at}` };
      case 1: {
        const v = this.pick(OTHER_TYPES);
        return { document: editAt(doc, path, () => structuredClone(v)), what: `${at} = ${JSON.stringify(v)}` };
      }
      case 2: {
        const v = this.pick(BAD_NUMBERS);
        return { document: editAt(doc, path, () => v), what: `${at} = ${String(v)}` };
      }
      case 3: {
        const v = this.pick(BAD_DURATIONS);
        return { document: editAt(doc, path, () => structuredClone(v)), what: `${at} = ${JSON.stringify(v)}` };
      }
      case 4: {
        // An enum-like or name-like string turned into something no reader knows.
        const v = typeof old === 'string' && /^[A-Z_0-9]+$/.test(old) ? `${old}_BOGUS` : this.pick(['BOGUS', 'strict_dns ', 'ROUND ROBIN', '*.*', '\u0000', '\ud800', 'é']);
        return { document: editAt(doc, path, () => v), what: `${at} = ${JSON.stringify(v)}` };
      }
      case 5: {
        // A list element twice: two listeners, clusters, routes or hosts of one name (or on one address).
        const parentPath = path.slice(0, -1);
        const parent = getAt(doc, parentPath);
        if (!Array.isArray(parent) || typeof key !== 'number') return { document: editAt(doc, path, () => [old, old]), what: `${at} = [it, it]` };
        return { document: editAt(doc, parentPath, (list) => [...(list as Json[]), structuredClone(old)]), what: `${at} duplicated` };
      }
      case 6: {
        const depth = this.pick([64, 1000, 20_000]);
        const kind = this.rand() < 0.5 ? 'list' : 'map';
        return { document: editAt(doc, path, () => `@@deep-${kind}-${depth}@@`), what: `${at} = a ${kind} nested ${depth} deep` };
      }
      case 7: {
        const length = this.pick([300, 70_000, 1_100_000]);
        return { document: editAt(doc, path, () => 'x'.repeat(length)), what: `${at} = a ${length}-character string` };
      }
      case 8: {
        if (!isObject(old)) return { document: editAt(doc, path, () => REMOVE), what: `deleted ${at}` };
        return { document: editAt(doc, path, (v) => ({ ...(v as object), [this.pick(['unknownField', 'nmae', '@type', 'value', 'seconds'])]: 1 })), what: `unknown key in ${at}` };
      }
      default: {
        // The same field under both spellings, or under its snake_case spelling alone.
        const parent = getAt(doc, path.slice(0, -1));
        if (!isObject(parent) || typeof key !== 'string' || camelToSnake(key) === key) return { document: editAt(doc, path, () => null), what: `${at} = null` };
        const both = this.rand() < 0.5;
        const document = editAt(doc, path.slice(0, -1), (p) => {
          const copy = { ...(p as Record<string, Json>), [camelToSnake(key)]: (p as Record<string, Json>)[key] };
          if (!both) delete copy[key];
          return copy;
        });
        return { document, what: both ? `${at} spelled twice` : `${at} spelled snake_case` };
      }
    }
  }
}
