import type { LoadOptions } from './load-options.js';

/*
 * What Fortio's HTTP clients return as a call's size and header size (its Sizes and HeaderSizes).
 * The fast client (HTTP/1.x, the default) counts every byte it read, head and body, and sizes the
 * head only of an OK response over HTTP/1.1: it stops parsing at a status that is not OK and does
 * not parse HTTP/1.0 at all. The standard client (-stdclient, -h2) counts the body's bytes, -1 for
 * a failed call, and never the head (fhttp/http_client.go).
 */

/** A call's size as Fortio's client returns it. */
export function fortioSize(o: LoadOptions, status: number, bodyBytes: number, wireBytes: number): number {
  return o.fastClient ? wireBytes : status < 0 ? -1 : bodyBytes;
}

/** A call's header size as Fortio's client returns it. */
export function fortioHeaderSize(o: LoadOptions, ok: boolean, headerBytes: number): number {
  return o.fastClient && ok && !o.http10 ? headerBytes : 0;
}
