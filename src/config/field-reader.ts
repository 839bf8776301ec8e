import type { Milliseconds } from '../model/duration.js';
import { ConfigError } from './config-error.js';
import { parseDuration } from './duration-text.js';

type Obj = Record<string, unknown>;

/**
 * Reads one YAML/JSON object into typed values, tracking the field path so every
 * error names file, resource and field. Unknown fields are rejected: a typo must not pass silently.
 */
export class FieldReader {
  private readonly seen = new Set<string>();

  constructor(
    private readonly value: Obj,
    readonly file: string,
    readonly resource: string,
    readonly path: string,
  ) {}

  /** Wraps any value, failing unless it is a plain object. */
  static of(value: unknown, file: string, resource: string, path: string): FieldReader {
    if (!isObject(value)) throw new ConfigError(file, resource, path || '(root)', `expected an object, got ${describe(value)}`);
    return new FieldReader(value, file, resource, path);
  }

  fieldPath(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  fail(key: string, reason: string): never {
    throw new ConfigError(this.file, this.resource, key ? this.fieldPath(key) : this.path || '(root)', reason);
  }

  has(key: string): boolean {
    return this.value[key] !== undefined && this.value[key] !== null;
  }

  raw(key: string): unknown {
    this.seen.add(key);
    const v = this.value[key];
    return v === null ? undefined : v;
  }

  /** Marks keys as accepted without reading them (e.g. "@type"). */
  ignore(...keys: string[]): void {
    for (const k of keys) this.seen.add(k);
  }

  str(key: string): string {
    const v = this.optStr(key);
    if (v === undefined) this.fail(key, 'is required');
    return v;
  }

  optStr(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') this.fail(key, `expected a string, got ${describe(v)}`);
    return v;
  }

  nonEmptyStr(key: string): string {
    const v = this.str(key);
    if (v.length === 0) this.fail(key, 'must not be empty');
    return v;
  }

  int(key: string, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.optInt(key, min, max);
    return v === undefined ? dflt : v;
  }

  optInt(key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
    let v = this.raw(key);
    if (v === undefined) return undefined;
    // Proto JSON wrappers: {value: N}, and 64-bit ints as strings.
    if (isObject(v) && 'value' in v) v = v.value;
    if (typeof v === 'string' && /^-?\d+$/.test(v)) v = Number(v);
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(key, `expected an integer, got ${describe(v)}`);
    if (v < min || v > max) this.fail(key, `must be between ${min} and ${max}, got ${v}`);
    return v;
  }

  bool(key: string, dflt: boolean): boolean {
    let v = this.raw(key);
    if (v === undefined) return dflt;
    if (isObject(v) && 'value' in v) v = v.value;
    if (typeof v !== 'boolean') this.fail(key, `expected true or false, got ${describe(v)}`);
    return v;
  }

  duration(key: string, dflt: Milliseconds): Milliseconds {
    const v = this.optDuration(key);
    return v === undefined ? dflt : v;
  }

  optDuration(key: string): Milliseconds | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    const ms = parseDuration(v);
    if (ms === undefined) this.fail(key, `expected a duration such as "1.5s" or "250ms", got ${describe(v)}`);
    return ms;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], dflt: T): T {
    const v = this.optStr(key);
    if (v === undefined) return dflt;
    if (!(allowed as readonly string[]).includes(v)) this.fail(key, `must be one of ${allowed.join(', ')}, got "${v}"`);
    return v as T;
  }

  optObj(key: string): FieldReader | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!isObject(v)) this.fail(key, `expected an object, got ${describe(v)}`);
    return new FieldReader(v, this.file, this.resource, this.fieldPath(key));
  }

  obj(key: string): FieldReader {
    const r = this.optObj(key);
    if (!r) this.fail(key, 'is required');
    return r;
  }

  /** Reads an array of objects, each through `each`; absent means empty. */
  list<T>(key: string, each: (r: FieldReader, index: number) => T): T[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(key, `expected a list, got ${describe(v)}`);
    return v.map((item, i) => each(FieldReader.of(item, this.file, this.resource, `${this.fieldPath(key)}[${i}]`), i));
  }

  strList(key: string): string[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) this.fail(key, 'expected a list of strings');
    return v as string[];
  }

  /** Rejects fields this reader never looked at. */
  done(): void {
    for (const k of Object.keys(this.value)) {
      if (!this.seen.has(k)) this.fail(k, 'unknown field');
    }
  }
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined || v === null) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
  return typeof v === 'object' ? 'an object' : String(v);
}
