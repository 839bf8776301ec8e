import zlib from 'node:zlib';
import { httpOk } from './http-ok.js';
import type { LoadOptions } from './load-options.js';

/*
 * Fortio's -compression, which only its standard client (-stdclient, -h2, -L) honours: Go's
 * transport with DisableCompression false asks for gzip and reads a gzip response decompressed,
 * so the body Fortio counts is the decompressed one (net/http transport.go, x/net/http2).
 */

/**
 * Whether a call's request gets Go's "Accept-Encoding: gzip": with -compression on the standard
 * client, unless -H gives an Accept-Encoding or a Range, or the method is HEAD.
 */
export function requestsGzip(o: LoadOptions): boolean {
  if (!o.compression || o.fastClient || o.method === 'HEAD') return false;
  return !o.headers.some(([name]) => name === 'accept-encoding' || name === 'range');
}

/** Whether a response to a request that asked for gzip is read decompressed: Go's check of Content-Encoding. */
export function isGzipEncoding(contentEncoding: string | undefined): boolean {
  return contentEncoding !== undefined && contentEncoding.trim().toLowerCase() === 'gzip';
}

/**
 * A gzip body's call as Go's standard client ends it: the decompressed bytes it read, and its
 * status, which an OK response whose body fails to decompress turns into 204 (fhttp StreamFetch).
 */
export function inflatedCall(status: number, body: Buffer[]): { status: number; bytes: number } {
  const compressed = body.length === 1 ? body[0]! : Buffer.concat(body);
  try {
    return { status, bytes: zlib.gunzipSync(compressed).length };
  } catch {
    // Go copied what decompressed before the error.
    let bytes = 0;
    try {
      bytes = zlib.gunzipSync(compressed, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).length;
    } catch {
      bytes = 0;
    }
    return { status: httpOk(status) ? 204 : status, bytes };
  }
}
