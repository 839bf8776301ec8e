import type http2 from 'node:http2';

/**
 * Names node:http2 sends only once: given two values it throws (ERR_HTTP2_HEADER_SINGLE_VALUE).
 * Its own list (kSingleValueHeaders in lib/internal/http2/util.js), which Node does not export.
 */
const SINGLE_VALUE = new Set([
  'access-control-allow-credentials',
  'access-control-max-age',
  'access-control-request-method',
  'age',
  'authorization',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-md5',
  'content-range',
  'content-type',
  'date',
  'dnt',
  'etag',
  'expires',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'range',
  'referer',
  'retry-after',
  'tk',
  'upgrade-insecure-requests',
  'user-agent',
  'x-content-type-options',
]);

/**
 * Adds flat [name, value, ...] headers (from HTTP/1.1) to a node:http2 header object, leaving out
 * `skip`: a repeated name becomes a list, except a name node:http2 sends once, which keeps its first
 * value (as node:http does, and as this proxy's own lookups read it). Two User-Agent lines from a
 * client made node throw, and the request failed as if the upstream had reset it.
 */
export function addH2Headers(out: http2.OutgoingHttpHeaders, flat: readonly string[], skip?: ReadonlySet<string>): void {
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!;
    if (skip !== undefined && skip.has(name)) continue;
    const prev = out[name];
    if (prev === undefined) out[name] = flat[i + 1]!;
    else if (Array.isArray(prev)) prev.push(flat[i + 1]!);
    else if (!SINGLE_VALUE.has(name)) out[name] = [String(prev), flat[i + 1]!];
  }
}
