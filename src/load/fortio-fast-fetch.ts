import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { ClientAddress, dialLookup } from './fortio-dns.js';
import { FortioFastResponse } from './fortio-fast-response.js';
import type { LoadOptions } from './load-options.js';
import { http1Request, type LoadTarget } from './load-target.js';

/** One response as Fortio's fast client read it: its status (-1: socket error), the bytes it buffered and the head's length in them. */
export interface FastFetchResult {
  code: number;
  data: Buffer;
  headerLen: number;
  warnings: string[];
}

/** One call by Fortio's fast client (its curl mode): a fresh connection, the request, the response read into its buffer. */
export function fastFetch(o: LoadOptions, target: LoadTarget): Promise<FastFetchResult> {
  const response = new FortioFastResponse({
    bufferKb: o.httpBufferKb,
    keepAlive: !o.newConnection && !o.http10,
    parseHeaders: !o.http10,
    checkConnectionClosedHeader: o.checkConnectionClosedHeader,
  });
  return new Promise((resolve) => {
    let socket: Socket;
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ code: response.code, data: response.buffer.subarray(0, response.size), headerLen: response.headerLen, warnings: response.warnings });
    };
    // Fortio's deadline: -timeout for the whole call, the connect included.
    const timer = setTimeout(() => {
      response.failed();
      response.warnings.push('Timeout error (incomplete/invalid response)');
      finish();
    }, o.timeoutMs > 0 ? o.timeoutMs : 3000);
    const send = (): void => void socket.write(http1Request(o, target));
    const lookup = target.resolver ? { lookup: dialLookup(new ClientAddress(target.resolver, target.host)), autoSelectFamily: false } : {};
    if (target.tls) {
      socket = tls.connect({ ...target.tls, ...lookup, ...(target.socketPath !== undefined ? { path: target.socketPath } : {}) }, send);
    } else {
      socket = target.socketPath !== undefined ? net.connect(target.socketPath, send) : net.connect({ port: target.port, host: target.host, ...lookup }, send);
    }
    socket.on('data', (chunk: Buffer) => {
      if (settled) return;
      // What does not fit the buffer stays unread, as in Go's Read into the buffer's free part.
      const fits = response.room(chunk);
      if (response.read(fits) || fits.length < chunk.length) finish();
    });
    socket.on('end', () => {
      response.ended();
      finish();
    });
    socket.on('error', (err) => {
      response.failed();
      response.warnings.push(err.message);
      finish();
    });
    socket.on('close', () => {
      response.ended();
      finish();
    });
  });
}
