import { H1LoadConnection, type H1ConnectionOptions } from './h1-load-connection.js';
import type { CallDone, LoadConnection } from './load-connection.js';
import type { LoadOptions } from './load-options.js';
import { http1Request, resolveTarget } from './load-target.js';
import { SocketStats } from './socket-stats.js';

/** The statuses Go's client follows when they carry a Location. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Go's defaultCheckRedirect: the 11th redirect in a row is an error. */
const MAX_REDIRECTS = 10;
/** Headers Go's client drops on a redirect to a host that is not the first one's nor a subdomain of it. */
const SENSITIVE = new Set(['authorization', 'www-authenticate', 'cookie', 'cookie2']);

/**
 * Fortio's -L: each call follows redirects as Go's http.Client does for its standard client
 * (net/http client.go), and records the last response. Each origin keeps one keep-alive
 * connection (Go's transport pools per host), and all of them count in one loop's sockets.
 */
export class RedirectLoadConnection implements LoadConnection {
  readonly sockets: SocketStats;
  private readonly byOrigin = new Map<string, H1LoadConnection>();
  private current: H1LoadConnection | undefined;
  private done: CallDone | undefined;
  private hop: LoadOptions;
  private redirects = 0;
  private readonly onHopBound: CallDone = (status, body, head, wire) => this.onHop(status, body, head, wire);

  constructor(
    private readonly o: LoadOptions,
    private readonly h1: H1ConnectionOptions,
  ) {
    this.sockets = new SocketStats(o.histogram);
    this.hop = o;
  }

  call(done: CallDone): void {
    this.done = done;
    this.redirects = 0;
    this.send(this.o);
  }

  abort(): void {
    this.done = undefined;
    this.current?.abort();
  }

  close(): void {
    this.done = undefined;
    for (const c of this.byOrigin.values()) c.close();
    this.byOrigin.clear();
  }

  private send(hop: LoadOptions): void {
    this.hop = hop;
    const target = resolveTarget(hop);
    const origin = `${hop.url.protocol}//${hop.url.host}`;
    let conn = this.byOrigin.get(origin);
    if (!conn) {
      conn = new H1LoadConnection(target, Buffer.alloc(0), this.h1, this.sockets);
      this.byOrigin.set(origin, conn);
    }
    this.current = conn;
    conn.send(http1Request(hop, target), this.onHopBound);
  }

  private onHop(status: number, bodyBytes: number, headerBytes?: number, wireBytes?: number): void {
    const done = this.done;
    if (!done) return;
    const location = this.current!.location;
    if (!REDIRECTS.has(status) || location === undefined || location === '') return done(status, bodyBytes, headerBytes, wireBytes);
    let next: LoadOptions | undefined;
    try {
      next = this.redirectTo(status, location);
    } catch {
      next = undefined;
    }
    // Go's client returns an error (Fortio records -1) past 10 redirects or for a Location it cannot follow.
    if (!next || this.redirects === MAX_REDIRECTS) {
      this.done = undefined;
      return done(-1, 0);
    }
    this.redirects++;
    this.send(next);
  }

  /** The next hop's request as Go builds it (client.go redirectBehavior, makeHeadersCopier). */
  private redirectTo(status: number, location: string): LoadOptions {
    const url = new URL(location, this.hop.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported protocol ${url.protocol}`);
    const prev = this.hop;
    // 301, 302 and 303 turn a call other than GET or HEAD into a GET without a body; 307 and 308 resend it as is.
    const keepBody = status === 307 || status === 308;
    const method = keepBody || prev.method === 'GET' || prev.method === 'HEAD' ? prev.method : 'GET';
    const first = this.o.url.hostname;
    const sameDomain = url.hostname === first || url.hostname.endsWith(`.${first}`);
    const headers = this.o.headers.filter(([name]) => (name !== 'host' && name !== 'referer') && (sameDomain || !SENSITIVE.has(name)));
    // Go keeps a -H Host only across a relative Location; it sends the previous URL as Referer, unless that leaves https for http.
    const host = this.o.headers.find(([name]) => name === 'host');
    const relative = !/^([a-z][a-z\d+.-]*:)?\/\//i.test(location);
    if (host && relative) headers.unshift(host);
    if (!(prev.url.protocol === 'https:' && url.protocol === 'http:')) headers.push(['referer', refererOf(prev.url)]);
    return { ...prev, url, method, headers, payload: keepBody ? prev.payload : Buffer.alloc(0), contentType: keepBody ? prev.contentType : undefined };
  }
}

/** The URL as a Referer: without user info nor fragment, as Go's refererForURL. */
function refererOf(url: URL): string {
  const r = new URL(url);
  r.username = '';
  r.password = '';
  r.hash = '';
  return r.href;
}
