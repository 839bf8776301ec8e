import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { DnsError, FortioResolver } from './fortio-dns.js';
import { requestsGzip } from './gzip-response.js';
import { LoadAbortedError } from './load-aborted-error.js';
import type { LoadOptions } from './load-options.js';

/** Where and how to connect, resolved once from the options (files read at start, not per call). */
export interface LoadTarget {
  host: string;
  port: number;
  tls: ConnectionOptions | undefined;
  authority: string;
  path: string;
  /** -unix-socket: HTTP/1.x connections dial this path; nothing is resolved. */
  socketPath: string | undefined;
  /** The fast client's resolution of a host name (Fortio's fnet): undefined where Node's dialer resolves (the standard client, an IP, a Unix socket). */
  resolver: FortioResolver | undefined;
}

export function resolveTarget(o: LoadOptions, resolver?: FortioResolver): LoadTarget {
  const url = o.url;
  const secure = url.protocol === 'https:';
  const name = url.hostname.replace(/^\[|\]$/g, '');
  // -resolve: connect to that address; the Host header and the TLS server name stay the URL's.
  const host = o.grpc ? name : (o.resolve ?? name);
  const port = Number(url.port || (secure ? 443 : 80));
  let tls: ConnectionOptions | undefined;
  if (secure) {
    tls = {
      host,
      port,
      servername: o.sni ?? (isIP(name) ? undefined : name),
      rejectUnauthorized: !o.insecure,
      ca: o.caFile ? readFileSync(o.caFile) : undefined,
      cert: o.certFile ? readFileSync(o.certFile) : undefined,
      key: o.keyFile ? readFileSync(o.keyFile) : undefined,
      ALPNProtocols: o.http2 ? ['h2'] : ['http/1.1'],
    };
  }
  // As Fortio, only HTTP/1.x goes over -unix-socket (its -h2 client dials the URL's host).
  const socketPath = o.grpc || o.http2 ? undefined : o.unixSocket;
  const resolves = resolver !== undefined && o.fastClient && !o.grpc && socketPath === undefined && isIP(host) === 0;
  return { host, port, tls, authority: url.host, path: `${url.pathname}${url.search}`, socketPath, resolver: resolves ? resolver : undefined };
}

/**
 * Fortio's HTTP clients resolve the target's host when they are made, and a name that does not
 * resolve stops the run before it starts ("Aborting because of lookup HOST: no such host").
 */
export async function checkResolves(host: string, resolver?: FortioResolver): Promise<void> {
  if (isIP(host)) return;
  if (resolver) {
    try {
      await resolver.resolveAll(host);
      return;
    } catch (err) {
      if (err instanceof DnsError) throw new LoadAbortedError(err.message);
      throw err;
    }
  }
  try {
    await lookup(host);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new LoadAbortedError(`lookup ${host}: ${e.code === 'ENOTFOUND' ? 'no such host' : e.message}`);
  }
}

/** The request bytes an HTTP/1.1 connection sends for every call (built once). */
export function http1Request(o: LoadOptions, t: LoadTarget): Buffer {
  // A -H header replaces the default of the same name (host, user-agent, content-type), not adds a second one.
  const given = new Set(o.headers.map(([name]) => name));
  // HTTP/1.0 as Fortio sends it: no Host header unless one is given.
  let head = `${o.method} ${t.path} HTTP/${o.http10 ? '1.0' : '1.1'}\r\n`;
  if (!given.has('host') && !o.http10) head += `host: ${t.authority}\r\n`;
  if (!given.has('user-agent')) head += 'user-agent: bulwark-load\r\n';
  for (const [name, value] of o.headers) head += `${name}: ${value}\r\n`;
  if (!given.has('content-type') && (o.contentType !== undefined || o.payload.length > 0)) head += `content-type: ${o.contentType ?? 'application/octet-stream'}\r\n`;
  if (o.payload.length > 0 || o.method === 'POST') head += `content-length: ${o.payload.length}\r\n`;
  if (o.newConnection && !o.http10) head += 'connection: close\r\n';
  if (requestsGzip(o)) head += 'accept-encoding: gzip\r\n';
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), o.payload]);
}

/** A deterministic payload of the requested size. */
export function payload(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = 97 + (i % 26);
  return b;
}
