import http, { type IncomingMessage } from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { Readable, Writable } from 'node:stream';
import zlib from 'node:zlib';
import { isGzipEncoding, requestsGzip } from './gzip-response.js';
import type { LoadOptions } from './load-options.js';
import { resolveTarget, type LoadTarget } from './load-target.js';

/** The statuses Go's client follows (-L) when they carry a Location, and how many in a row. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

/**
 * One call by Fortio's standard client (its curl mode with -stdclient, -h2, -L or -stream): the
 * body alone goes to `out` (Go's client keeps the head), decompressed when it asked for gzip.
 * Resolves to the status, -1 for a transport error. With `body`, the request streams it (-stream).
 */
export async function stdFetch(o: LoadOptions, out: Writable, body?: Readable): Promise<{ code: number; error?: string }> {
  let hop = o;
  for (let redirects = 0; ; redirects++) {
    const target = resolveTarget(hop);
    let res: IncomingMessage | http2.ClientHttp2Stream;
    let status: number;
    let encoding: string | undefined;
    let location: string | undefined;
    try {
      ({ res, status, encoding, location } = await (o.http2 ? h2Request(hop, target, body) : h1Request(hop, target)));
    } catch (err) {
      return { code: -1, error: (err as Error).message };
    }
    if (o.followRedirects && REDIRECTS.has(status) && location !== undefined) {
      res.resume();
      if (redirects + 1 > MAX_REDIRECTS) return { code: -1, error: 'stopped after 10 redirects' };
      hop = { ...hop, url: new URL(location, hop.url) };
      continue;
    }
    const reader = requestsGzip(o) && isGzipEncoding(encoding) ? res.pipe(zlib.createGunzip()) : res;
    try {
      for await (const chunk of reader) out.write(chunk as Buffer);
    } catch (err) {
      // Go's StreamFetch: an OK status whose body failed to read becomes 204.
      return { code: status >= 200 && status < 300 ? 204 : status, error: (err as Error).message };
    }
    return { code: status };
  }
}

function requestHeaders(o: LoadOptions): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': 'bulwark-load' };
  for (const [name, value] of o.headers) headers[name] = value;
  if (headers['content-type'] === undefined && (o.contentType !== undefined || o.payload.length > 0)) headers['content-type'] = o.contentType ?? 'application/octet-stream';
  if (requestsGzip(o)) headers['accept-encoding'] = 'gzip';
  return headers;
}

function h1Request(o: LoadOptions, t: LoadTarget): Promise<{ res: IncomingMessage; status: number; encoding?: string; location?: string }> {
  return new Promise((resolve, reject) => {
    const headers = { host: t.authority, ...requestHeaders(o) };
    const options = { method: o.method, path: t.path, headers, timeout: o.timeoutMs || undefined, agent: false as const };
    const where = t.socketPath !== undefined ? { socketPath: t.socketPath } : { host: t.host, port: t.port };
    const req = t.tls ? https.request({ ...t.tls, ...options, ...where }) : http.request({ ...options, ...where });
    req.on('response', (res) => resolve({ res, status: res.statusCode ?? -1, encoding: res.headers['content-encoding'], location: res.headers.location }));
    req.on('timeout', () => req.destroy(new Error('Client.Timeout exceeded while awaiting headers')));
    req.on('error', reject);
    req.end(o.payload.length > 0 || o.method === 'POST' ? o.payload : undefined);
  });
}

function h2Request(o: LoadOptions, t: LoadTarget, body?: Readable): Promise<{ res: http2.ClientHttp2Stream; status: number; encoding?: string; location?: string }> {
  return new Promise((resolve, reject) => {
    const origin = `${t.tls ? 'https' : 'http'}://${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
    const session = http2.connect(origin, t.tls ?? {});
    session.on('error', reject);
    const headers: http2.OutgoingHttpHeaders = { ':method': o.method, ':path': t.path, ':authority': t.authority, ...requestHeaders(o) };
    if (typeof headers.host === 'string') headers[':authority'] = headers.host;
    delete headers.host;
    const stream = session.request(headers, { endStream: body === undefined && o.payload.length === 0 });
    if (o.timeoutMs > 0) stream.setTimeout(o.timeoutMs, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    stream.on('response', (h) => {
      resolve({ res: stream, status: Number(h[':status']), encoding: h['content-encoding'] as string | undefined, location: h.location as string | undefined });
    });
    stream.on('error', reject);
    stream.on('close', () => {
      session.close();
      reject(new Error(`stream closed (code ${stream.rstCode})`));
    });
    // -stream: the request's body is stdin, sent as it comes (DATA frames, no length), as Go's client sends a reader's.
    if (body !== undefined) body.pipe(stream);
    else if (o.payload.length > 0) stream.end(o.payload);
  });
}
