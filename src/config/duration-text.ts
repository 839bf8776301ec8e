import type { Milliseconds } from '../model/duration.js';

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/;

/**
 * Parses "1.5s", "250ms", "2m" (and proto-JSON {seconds, nanos}) into milliseconds; undefined when invalid.
 * A bare number is invalid: a protobuf JSON Duration is a string, and Envoy refuses `connectTimeout: 5`
 * rather than guess its unit.
 */
export function parseDuration(value: unknown): Milliseconds | undefined {
  if (typeof value === 'string') {
    const m = DURATION_RE.exec(value.trim());
    if (!m) return undefined;
    return Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const { seconds = 0, nanos = 0, ...other } = value as { seconds?: unknown; nanos?: unknown };
    // Only proto-JSON's two fields, as numbers (64-bit seconds may be a string): not true, not a typo'd key.
    const number = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN);
    const s = number(seconds);
    const n = number(nanos);
    if (Object.keys(other).length === 0 && Number.isFinite(s) && Number.isFinite(n) && s >= 0 && n >= 0) return s * 1000 + n / 1e6;
  }
  return undefined;
}
