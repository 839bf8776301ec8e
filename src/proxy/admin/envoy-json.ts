/**
 * The model's camelCase objects as Envoy prints protos in proto3 JSON: snake_case field names,
 * durations as "1.500s", and fields at their default (false, 0, "", an empty list) left out.
 * Values that are user data keyed by the user (a typed config as written, an access log's JSON
 * format) are wrapped in Verbatim and copied as they are: their keys are not field names.
 */
import { snakeCaseForms } from '../../config/field-reader.js';

/** A value printed exactly as given: no key is renamed, nothing is left out. */
export class Verbatim {
  constructor(readonly value: unknown) {}
}

/** Model fields that hold milliseconds where Envoy's proto has a google.protobuf.Duration. */
const DURATION_FIELDS = new Set([
  'connectTimeout', 'timeout', 'interval', 'idleTimeout', 'requestHeadersTimeout', 'streamIdleTimeout',
  'requestTimeout', 'drainTimeout', 'delayedCloseTimeout', 'baseEjectionTime', 'maxEjectionTime',
  'perTryTimeout', 'baseInterval', 'maxInterval', 'maxStreamDuration', 'grpcTimeoutHeaderMax',
  'grpcTimeoutHeaderOffset', 'sessionTimeout', 'listenerFiltersTimeout', 'megamissTimeout', 'killTimeout',
  'maxKillTimeoutJitter',
]);

/** Enum fields at their proto default (the value numbered 0), which proto3 JSON leaves out like any default. */
const ENUM_DEFAULTS: Readonly<Record<string, string>> = {
  type: 'STATIC',
  lbPolicy: 'ROUND_ROBIN',
  healthStatus: 'UNKNOWN',
  codecType: 'AUTO',
  serverHeaderTransformation: 'OVERWRITE',
  forwardClientCertDetails: 'SANITIZE',
  headersWithUnderscoresAction: 'ALLOW',
  appendAction: 'APPEND_IF_EXISTS_OR_ADD',
  trafficDirection: 'UNSPECIFIED',
};

/** Proto names whose digits stand apart (`consecutive_5xx`); other digit runs join the word before (`http2_protocol_options`). */
const DIGITS_APART = new Set(['consecutive5xx', 'enforcingConsecutive5xx', 'acceptHttp10', 'defaultHostForHttp10']);

/** The proto field name of a model key. */
export function protoFieldName(key: string): string {
  if (key.startsWith('@')) return key;
  const forms = snakeCaseForms(key);
  return DIGITS_APART.has(key) ? forms[forms.length - 1]! : forms[0]!;
}

/** A google.protobuf.Duration in proto3 JSON: whole seconds, or 3, 6 or 9 fractional digits. */
export function durationText(ms: number): string {
  const nanos = Math.round(ms * 1e6);
  const seconds = Math.trunc(nanos / 1e9);
  const frac = Math.abs(nanos % 1e9);
  if (frac === 0) return `${seconds}s`;
  const sign = nanos < 0 && seconds === 0 ? '-' : '';
  const digits = String(frac).padStart(9, '0');
  const kept = frac % 1e6 === 0 ? digits.slice(0, 3) : frac % 1e3 === 0 ? digits.slice(0, 6) : digits;
  return `${sign}${seconds}.${kept}s`;
}

/** A google.protobuf.Timestamp in proto3 JSON (RFC 3339, UTC; fractional digits only when there are any). */
export function timestampText(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** Converts a model value (already redacted) into Envoy's proto3 JSON printing of it. */
export function toEnvoyJson(value: unknown): unknown {
  if (value instanceof Verbatim) return value.value;
  if (Array.isArray(value)) return value.map(toEnvoyJson);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const printed = DURATION_FIELDS.has(key) && typeof v === 'number' ? durationText(v) : toEnvoyJson(v);
    // A Verbatim value is printed even at a default: a google.protobuf.BoolValue set to false is.
    if (!(v instanceof Verbatim) && (isDefault(printed) || ENUM_DEFAULTS[key] === printed)) continue;
    out[protoFieldName(key)] = printed;
  }
  return out;
}

/** proto3 JSON leaves out scalars at their default and empty repeated fields; a set message prints even when empty. */
function isDefault(v: unknown): boolean {
  return v === undefined || v === null || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0);
}
