/**
 * Zipkin B3 propagation (https://github.com/openzipkin/b3-propagation): the single `b3` header
 * and the multi-header form (x-b3-traceid, x-b3-spanid, x-b3-parentspanid, x-b3-sampled, x-b3-flags).
 */
import { isHexId } from './hex-id.js';

/** A parsed B3 context. Ids are absent for a sampling-only header ("b3: 0"). */
export interface B3Context {
  /** 16 or 32 lower-case hex characters, as received. */
  traceId: string | undefined;
  spanId: string | undefined;
  parentSpanId: string | undefined;
  /** undefined: the decision is deferred to this hop. */
  sampled: boolean | undefined;
  debug: boolean;
}

/** The multi-header values as received. */
export interface B3MultiHeaders {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  sampled?: string;
  flags?: string;
}

/** Parses a single `b3` header: "{trace}-{span}[-{sampling}[-{parent}]]" or just "0" / "1" / "d". */
export function parseB3Single(value: string): B3Context | undefined {
  if (value.length === 1) {
    const sampling = parseSamplingState(value);
    return sampling === undefined ? undefined : { traceId: undefined, spanId: undefined, parentSpanId: undefined, ...sampling };
  }
  const parts = value.split('-');
  if (parts.length < 2 || parts.length > 4) return undefined;
  const [traceId, spanId, state, parentSpanId] = parts as [string, string, string | undefined, string | undefined];
  if (!isTraceId(traceId) || !isHexId(spanId, 16)) return undefined;
  if (parentSpanId !== undefined && !isHexId(parentSpanId, 16)) return undefined;
  const sampling = state === undefined ? { sampled: undefined, debug: false } : parseSamplingState(state);
  if (sampling === undefined) return undefined;
  return { traceId, spanId, parentSpanId, ...sampling };
}

/**
 * Parses the multi-header form. A trace id needs its span id (and the reverse); a sampling
 * decision alone is valid. An unreadable id makes the whole context invalid.
 */
export function parseB3Multi(h: B3MultiHeaders): B3Context | undefined {
  const debug = h.flags === '1';
  const sampled = debug ? true : h.sampled === '1' || h.sampled === 'true' ? true : h.sampled === '0' || h.sampled === 'false' ? false : undefined;
  if (h.traceId === undefined && h.spanId === undefined) {
    return sampled === undefined ? undefined : { traceId: undefined, spanId: undefined, parentSpanId: undefined, sampled, debug };
  }
  if (h.traceId === undefined || h.spanId === undefined || !isTraceId(h.traceId) || !isHexId(h.spanId, 16)) return undefined;
  if (h.parentSpanId !== undefined && !isHexId(h.parentSpanId, 16)) return undefined;
  return { traceId: h.traceId, spanId: h.spanId, parentSpanId: h.parentSpanId, sampled, debug };
}

function isTraceId(s: string): boolean {
  return isHexId(s, 32) || isHexId(s, 16);
}

function parseSamplingState(s: string): { sampled: boolean; debug: boolean } | undefined {
  if (s === '1') return { sampled: true, debug: false };
  if (s === '0') return { sampled: false, debug: false };
  if (s === 'd') return { sampled: true, debug: true };
  return undefined;
}
