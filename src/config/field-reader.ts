import type { Milliseconds } from '../model/duration.js';
import { MAX_TIMER_MS } from '../util/max-timer.js';
import { closestName } from '../util/closest-name.js';
import { isSecretField } from '../util/secret-fields.js';
import { ConfigError } from './config-error.js';
import { parseDuration } from './duration-text.js';

type Obj = Record<string, unknown>;

/**
 * Reads one YAML/JSON object into typed values, tracking the field path so every
 * error names file, resource and field. Unknown fields are rejected: a typo must not pass silently.
 *
 * Readers ask for Envoy's camelCase names; the proto's snake_case name is accepted for each as well
 * (`socket_address` for `socketAddress`), as Envoy's proto3 JSON/YAML parser does, so configs written
 * for Envoy load unchanged. Errors name a field as the file spells it.
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
    if (!isObject(value)) throw new ConfigError(file, resource, path || '(root)', `expected an object, got ${describeValue(value, path)}`);
    return new FieldReader(value, file, resource, path);
  }

  fieldPath(key: string): string {
    const spelled = this.spelling(key);
    return this.path ? `${this.path}.${spelled}` : spelled;
  }

  /** The key as this object spells it: the camelCase name, or its snake_case form when only that is present. */
  private spelling(key: string): string {
    if (Object.hasOwn(this.value, key)) return key;
    return this.snakeSpelling(key) ?? key;
  }

  private snakeSpelling(key: string): string | undefined {
    for (const form of snakeCaseForms(key)) if (form !== key && Object.hasOwn(this.value, form)) return form;
    return undefined;
  }

  /** The key to read; a field given under both spellings is refused rather than one silently winning. */
  private keyToRead(key: string): string {
    const snake = this.snakeSpelling(key);
    if (snake === undefined) return key;
    if (Object.hasOwn(this.value, key)) this.fail(key, `is given twice, as "${key}" and as "${snake}"`);
    return snake;
  }

  fail(key: string, reason: string): never {
    throw new ConfigError(this.file, this.resource, key ? this.fieldPath(key) : this.path || '(root)', reason);
  }

  has(key: string): boolean {
    const v = this.value[this.spelling(key)];
    return v !== undefined && v !== null;
  }

  raw(key: string): unknown {
    const k = this.keyToRead(key);
    this.seen.add(k);
    const v = this.value[k];
    return v === null ? undefined : v;
  }

  /** Marks keys as accepted without reading them (e.g. "@type"), under either spelling. */
  ignore(...keys: string[]): void {
    for (const k of keys) {
      this.seen.add(k);
      for (const form of snakeCaseForms(k)) this.seen.add(form);
    }
  }

  str(key: string): string {
    const v = this.optStr(key);
    if (v === undefined) this.fail(key, 'is required');
    return v;
  }

  optStr(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') this.fail(key, `expected a string, got ${describeValue(v, key)}`);
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
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(key, `expected an integer, got ${describeValue(v, key)}`);
    if (v < min || v > max) this.fail(key, `must be between ${min} and ${max}, got ${v}`);
    return v;
  }

  bool(key: string, dflt: boolean): boolean {
    let v = this.raw(key);
    if (v === undefined) return dflt;
    if (isObject(v) && 'value' in v) v = v.value;
    if (typeof v !== 'boolean') this.fail(key, `expected true or false, got ${describeValue(v, key)}`);
    return v;
  }

  duration(key: string, dflt: Milliseconds): Milliseconds {
    const v = this.optDuration(key);
    return v === undefined ? dflt : v;
  }

  /** A duration that must be longer than zero, as Envoy requires where 0 would fail every attempt or spin a loop. */
  positiveDuration(key: string, dflt: Milliseconds): Milliseconds {
    const ms = this.duration(key, dflt);
    if (ms <= 0) this.fail(key, 'must be longer than 0s');
    return ms;
  }

  optDuration(key: string): Milliseconds | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    // Every duration field is read here, so this one check covers them all.
    if (typeof v === 'number') this.fail(key, `expected a duration string such as "${v}s" or "250ms", got the bare number ${v} (a protobuf JSON Duration is a string with its unit)`);
    const ms = parseDuration(v);
    if (ms === undefined) this.fail(key, `expected a duration such as "1.5s" or "250ms", got ${describeValue(v, key)}`);
    // A longer timeout ("1000h", meant as practically never) would otherwise fire at once.
    return Math.min(ms, MAX_TIMER_MS);
  }

  /**
   * An enum value. Like Envoy's proto JSON parser (case_insensitive_enum_parsing), a value that does not
   * match is tried again in upper case, so `type: strict_dns` and `codec_type: auto` from Envoy's own
   * examples load.
   */
  oneOf<T extends string>(key: string, allowed: readonly T[], dflt: T): T {
    const v = this.optStr(key);
    if (v === undefined) return dflt;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    if ((allowed as readonly string[]).includes(v.toUpperCase())) return v.toUpperCase() as T;
    this.fail(key, `must be one of ${allowed.join(', ')}, got "${v}"`);
  }

  optObj(key: string): FieldReader | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!isObject(v)) this.fail(key, `expected an object, got ${describeValue(v, key)}`);
    return new FieldReader(v, this.file, this.resource, this.fieldPath(key));
  }

  obj(key: string): FieldReader {
    const r = this.optObj(key);
    if (!r) this.fail(key, 'is required');
    return r;
  }

  /**
   * Reads an array of objects, each through `each`; absent means empty. A single object where a list
   * belongs is read as a list of one, as Envoy's parser does (its docs write `tls_certificates:` so).
   */
  list<T>(key: string, each: (r: FieldReader, index: number) => T): T[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (isObject(v)) return [each(FieldReader.of(v, this.file, this.resource, this.fieldPath(key)), 0)];
    if (!Array.isArray(v)) this.fail(key, `expected a list, got ${describeValue(v, key)}`);
    return v.map((item, i) => each(FieldReader.of(item, this.file, this.resource, `${this.fieldPath(key)}[${i}]`), i));
  }

  /** A list of strings; a single string is a list of one, as with `list`. */
  strList(key: string): string[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (typeof v === 'string') return [v];
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) this.fail(key, 'expected a list of strings');
    return v as string[];
  }

  /** Rejects fields this reader never looked at, naming the field it most likely misspells. */
  done(): void {
    for (const k of Object.keys(this.value)) {
      if (this.seen.has(k)) continue;
      // YAML's `~:` and `"":` name no field: blamed on the key, the object itself would read as unknown.
      if (k === '') this.fail('', 'has a field with no name (an empty or null key)');
      const near = closestName(k, this.seen);
      this.fail(k, near === undefined ? 'unknown field' : `unknown field (did you mean "${near}"?)`);
    }
  }
}

/**
 * The proto field names a camelCase JSON name may stand for: `portValue` → `port_value`. The JSON
 * name drops the underscore before a digit, so a digit run may join the word before it
 * (`http2_protocol_options`, `google_re2`) or stand apart (`consecutive_5xx`, `accept_http_10`): both
 * forms are candidates.
 */
export function snakeCaseForms(key: string): string[] {
  const joined = key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
  const apart = joined.replace(/(?<=[a-z])(\d+)/g, '_$1');
  return apart === joined ? [joined] : [joined, apart];
}

/** A shallow copy of an opaque typed config with snake_case keys in camelCase, for consumers that read camelCase. */
export function camelCaseKeys(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = v;
  return out;
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a bad value was, for an error message; the value of a secret field (a PIN, inline key bytes) is never repeated. */
export function describeValue(v: unknown, key: string): string {
  if (v === undefined || v === null) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (isSecretField(key.slice(key.lastIndexOf('.') + 1))) return typeof v === 'object' ? 'an object' : `a ${typeof v} (not shown)`;
  if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
  return typeof v === 'object' ? 'an object' : String(v);
}
