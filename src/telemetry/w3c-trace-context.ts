/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the traceparent and tracestate headers.
 * Pure functions over strings.
 */
import { isHexId } from './hex-id.js';

/** A parsed traceparent. */
export interface TraceParent {
  /** 32 lower-case hex characters, not all zeros. */
  traceId: string;
  /** The caller's span: 16 lower-case hex characters, not all zeros. */
  parentId: string;
  sampled: boolean;
}

const SAMPLED = 0x01;

/**
 * Parses a traceparent, or returns undefined when it is invalid: wrong lengths or separators,
 * upper-case or non-hex characters, all-zero ids, version ff, or a version-00 value with extra text.
 * Higher versions are read by their version-00 prefix, as the spec asks.
 */
export function parseTraceparent(value: string): TraceParent | undefined {
  if (value.length < 55 || value[2] !== '-' || value[35] !== '-' || value[52] !== '-') return undefined;
  const version = value.slice(0, 2);
  if (!isHex(version) || version === 'ff') return undefined;
  if (version === '00' ? value.length !== 55 : value.length > 55 && value[55] !== '-') return undefined;
  const traceId = value.slice(3, 35);
  const parentId = value.slice(36, 52);
  const flags = value.slice(53, 55);
  if (!isHexId(traceId, 32) || !isHexId(parentId, 16) || !isHex(flags)) return undefined;
  return { traceId, parentId, sampled: (parseInt(flags, 16) & SAMPLED) !== 0 };
}

/**
 * A version-00 traceparent, as one flat string. A concatenation is a tree of pieces that a reader
 * such as the access log's escape check flattens into a fresh copy; reading one character
 * flattens it in place once, which measured cheaper than copying the ids into a byte buffer.
 */
export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  const text = '00-' + traceId + '-' + spanId + (sampled ? '-01' : '-00');
  text.charCodeAt(0);
  return text;
}

const TRACESTATE_KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
const TRACESTATE_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const MAX_MEMBERS = 32;

/**
 * True when a tracestate (several headers joined with ",") is well-formed: at most 32 members,
 * each key=value with the spec's key and value grammar, no key twice. Empty members are allowed.
 */
export function isValidTracestate(value: string): boolean {
  const keys = new Set<string>();
  for (const raw of value.split(',')) {
    const member = raw.trim();
    if (member === '') continue;
    const eq = member.indexOf('=');
    if (eq <= 0) return false;
    const key = member.slice(0, eq);
    if (!TRACESTATE_KEY.test(key) || !TRACESTATE_VALUE.test(member.slice(eq + 1)) || keys.has(key)) return false;
    keys.add(key);
    if (keys.size > MAX_MEMBERS) return false;
  }
  return true;
}

function isHex(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}
