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
 * Connection-specific fields (RFC 9113 §8.2.2): an intermediary turning a message into HTTP/2 must
 * remove them, and node:http2 throws on them. The stream drops a client's hop-by-hop fields; these
 * can still come from configured header additions, which apply after that.
 */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

/**
 * Adds flat [name, value, ...] headers (from HTTP/1.1 or configured additions) to a node:http2
 * header object: a repeated name becomes a list, except a name node:http2 sends once, which keeps its
 * first value (as node:http does, and as this proxy's own lookups read it). Connection-specific
 * fields are left out, and TE but for "trailers", the one value HTTP/2 allows. Two User-Agent
 * lines from a client, or a route adding `connection`, made node throw, and the request failed as if
 * the upstream had reset it.
 */
export function addH2Headers(out: http2.OutgoingHttpHeaders, flat: readonly string[]): void {
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!;
    if (CONNECTION_SPECIFIC.has(name)) continue;
    if (name === 'te') {
      // node:http2 takes exactly one "trailers": a list naming it, a capital, or a second TE made it throw.
      if (/(?:^|,)\s*trailers\s*(?:;|,|$)/i.test(flat[i + 1]!)) out.te = 'trailers';
      continue;
    }
    const prev = out[name];
    if (prev === undefined) out[name] = flat[i + 1]!;
    else if (Array.isArray(prev)) prev.push(flat[i + 1]!);
    else if (!SINGLE_VALUE.has(name)) out[name] = [String(prev), flat[i + 1]!];
  }
}
