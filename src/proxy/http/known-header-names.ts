/**
 * Lower-case strings for the header names most messages carry, found from the raw bytes without
 * slicing a string and lower-casing it (two allocations per header on the hot path).
 */
const NAMES = [
  'host', 'user-agent', 'accept', 'accept-encoding', 'accept-language', 'accept-ranges', 'authorization', 'cookie', 'set-cookie',
  'content-type', 'content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'expect',
  'date', 'server', 'cache-control', 'etag', 'last-modified', 'location', 'vary', 'origin', 'referer', 'pragma', 'expires',
  'x-request-id', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip', 'x-envoy-upstream-service-time',
  'traceparent', 'tracestate', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags',
  'grpc-status', 'grpc-message', 'grpc-encoding', 'grpc-accept-encoding', 'grpc-timeout',
];

/** Candidates by length, then by first letter (arrays indexed by char code: no Map lookup per header). */
const BY_LENGTH: Array<Array<string[] | undefined> | undefined> = [];
for (const name of NAMES) {
  const byFirst = (BY_LENGTH[name.length] ??= new Array<string[] | undefined>(128).fill(undefined));
  (byFirst[name.charCodeAt(0)] ??= []).push(name);
}

/**
 * The lower-case name for the token bytes buf[start, end) when it is a known one, else undefined.
 * Only token bytes reach here, so OR-ing 0x20 lower-cases letters and maps nothing else onto a
 * letter, digit or '-' (the characters of known names).
 */
export function knownHeaderName(buf: Uint8Array, start: number, end: number): string | undefined {
  const byFirst = BY_LENGTH[end - start];
  if (byFirst === undefined) return undefined;
  const list = byFirst[(buf[start]! | 0x20) & 0x7f];
  if (list === undefined) return undefined;
  for (let k = 0; k < list.length; k++) {
    const name = list[k]!;
    let i = 1;
    while (i < name.length && (buf[start + i]! | 0x20) === name.charCodeAt(i)) i++;
    if (i === name.length) return name;
  }
  return undefined;
}
