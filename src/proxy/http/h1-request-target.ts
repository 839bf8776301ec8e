import type { H1Head } from './h1-parser.js';

/** Where an HTTP/1.1 request goes: the path to send on and the authority it names (absent: an HTTP/1.0 request without Host). */
export interface H1RequestTarget {
  path: string;
  host: string | undefined;
}

/** The absolute-form of a request target: its authority and the path (with query) after it. */
const ABSOLUTE_FORM = /^https?:\/\/([^/?#]+)([^#]*)$/i;

/** uri-host [ ":" port ] (RFC 9112 §3.2, RFC 3986 §3.2.2): an IP-literal or a reg-name; no userinfo. */
const HOST = /^(?:\[[A-Za-z0-9\-._~!$&'()*+,;=:]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

/** True for a Host header value (or an absolute-form authority) RFC 9112 §3.2 accepts. */
export function isValidHost(host: string): boolean {
  return HOST.test(host);
}

/**
 * Reads the request target and Host header of a parsed request head (RFC 9112 §3.2, §3.2.2);
 * returns why the request must get a 400 instead. `knownHost` is a Host value already found valid
 * on this connection (keep-alive clients repeat theirs): it is not checked again.
 */
export function h1RequestTarget(head: H1Head, knownHost: string): H1RequestTarget | string {
  let host: string | undefined;
  let hosts = 0;
  const h = head.headers;
  for (let i = 0; i < h.length; i += 2) {
    if (h[i] === 'host') {
      host = h[i + 1];
      hosts++;
    }
  }
  if (hosts > 1) return 'multiple Host headers';
  // A server MUST answer 400 to an HTTP/1.1 request without Host, or with an invalid one, whatever its target's form.
  if (hosts === 0 && head.versionMinor === 1) return 'missing Host header';
  if (host !== undefined && host !== knownHost && !isValidHost(host)) return 'invalid Host header';
  let path = head.target;
  if (head.method === 'CONNECT') return 'CONNECT is not supported';
  if (path.charCodeAt(0) !== 0x2f) {
    if (path === '*' && head.method === 'OPTIONS') return { path, host };
    const m = ABSOLUTE_FORM.exec(path);
    if (!m) return 'malformed request target';
    // The target's authority replaces the Host header (RFC 9112 §3.2.2); userinfo in it is an error (RFC 9110 §4.2.4).
    host = m[1]!;
    if (host !== knownHost && !isValidHost(host)) return 'invalid authority in request target';
    // An empty path is "/", also before a query (RFC 9112 §3.2.2: "http://a?q" asks for "/?q").
    path = m[2]!.charCodeAt(0) === 0x2f ? m[2]! : `/${m[2]!}`;
  }
  return { path, host };
}
