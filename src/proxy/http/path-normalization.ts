/**
 * Request path normalization before routing, as Istio configures Envoy by default (normalize_path):
 * without it, "/public/../admin" or "/public/%2e%2e/admin" slips past a route or policy on "/admin"
 * and reaches the upstream, which resolves it to "/admin".
 *
 * RFC 3986 §6.2.2: percent-encoded unreserved characters are decoded, remaining escapes upper-cased,
 * dot segments removed (§5.2.4); optionally repeated slashes merged. The fragment is dropped (it is
 * never meant for the server). The query is kept as is. Encoded slashes (%2F) stay encoded; a bare
 * backslash becomes a slash.
 */

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** The normalized request target, or the same string when nothing changes (the common case). */
export function normalizeRequestTarget(target: string, mergeSlashes: boolean): string {
  if (target.charCodeAt(0) !== 47 /* / */) return target; // "*" (OPTIONS) or already refused forms
  let end = target.indexOf('?');
  const hash = target.indexOf('#');
  if (hash >= 0 && (end < 0 || hash < end)) end = hash;
  const path = end < 0 ? target : target.slice(0, end);
  const query = end < 0 || target[end] === '#' ? '' : stripFragment(target.slice(end));
  if (!needsWork(path, mergeSlashes) && hash < 0) return target;
  let p = path.includes('%') ? decodeUnreserved(path) : path;
  // A backslash is a slash, as the URL canonicalizer Envoy normalizes with has it (and as many servers
  // read it): "/public/..\\admin" must not pass a route on "/public/" and reach "/admin".
  if (p.includes('\\')) p = p.replace(/\\/g, '/');
  if (mergeSlashes) p = p.replace(/\/{2,}/g, '/');
  p = removeDotSegments(p);
  return p + query;
}

function stripFragment(query: string): string {
  const hash = query.indexOf('#');
  return hash < 0 ? query : query.slice(0, hash);
}

function needsWork(path: string, mergeSlashes: boolean): boolean {
  return path.includes('%') || path.includes('/.') || path.includes('\\') || (mergeSlashes && path.includes('//'));
}

function decodeUnreserved(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(ch) ? ch : escape.toUpperCase();
  });
}

/** RFC 3986 §5.2.4 over "/"-separated segments; the result always starts with "/". */
function removeDotSegments(path: string): string {
  if (!path.includes('.')) return path;
  const input = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < input.length; i++) {
    const seg = input[i]!;
    const last = i === input.length - 1;
    if (seg === '.') {
      if (last) out.push('');
    } else if (seg === '..') {
      out.pop();
      if (last) out.push('');
    } else out.push(seg);
  }
  return `/${out.join('/')}`;
}

const ESCAPED_SLASH = /%2f|%5c/i;

/** The path part of a request target (before "?" or "#") holds %2F or %5C. */
export function hasEscapedSlash(target: string): boolean {
  const end = pathEnd(target);
  const m = ESCAPED_SLASH.exec(target);
  return m !== null && m.index < end;
}

/** The target with %2F and %5C in its path decoded to "/" and "\\" (Envoy's UNESCAPE_AND_FORWARD); the query is kept. */
export function unescapeSlashes(target: string): string {
  const end = pathEnd(target);
  return target.slice(0, end).replace(/%2f/gi, '/').replace(/%5c/gi, '\\') + target.slice(end);
}

function pathEnd(target: string): number {
  const q = target.indexOf('?');
  const h = target.indexOf('#');
  if (q < 0) return h < 0 ? target.length : h;
  return h < 0 ? q : Math.min(q, h);
}
