import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import zlib from 'node:zlib';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { bulwark } from './load-support.js';

const PLAIN = Buffer.alloc(10_000, 'a');
const GZIPPED = zlib.gzipSync(PLAIN);

/**
 * Answers with PLAIN gzip-encoded when the request accepts gzip (and as is otherwise), or with
 * bytes that claim to be gzip and are not on /corrupt; records each request's Accept-Encoding.
 */
function respond(acceptEncodings: Array<string | undefined>) {
  return (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void => {
    const accept = req.headers['accept-encoding'] as string | undefined;
    acceptEncodings.push(accept);
    if (req.url === '/corrupt') {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': '10' });
      res.end(Buffer.alloc(10, 'x'));
      return;
    }
    const gzip = accept?.includes('gzip') === true;
    const body = gzip ? GZIPPED : PLAIN;
    res.writeHead(200, { 'content-length': String(body.length), ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
    res.end(body);
  };
}

async function load(args: string[]): Promise<FortioResult> {
  const run = await bulwark(['load', '-quiet', '-json', '-', '-qps', '0', '-c', '1', ...args], 30_000);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as FortioResult;
}

test('-compression: the standard client asks for gzip and counts the body decompressed; the fast client ignores it, as Fortio\'s', async () => {
  const seen: Array<string | undefined> = [];
  const server = http.createServer(respond(seen));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const std = await load(['-n', '3', '-stdclient', '-compression', `${url}/`]);
    assert.deepEqual(seen.splice(0), ['gzip', 'gzip', 'gzip'], 'Go\'s transport adds Accept-Encoding: gzip');
    assert.deepEqual([std.Compression, std.RetCodes, std.Sizes.Min, std.Sizes.Max], [true, { '200': 3 }, PLAIN.length, PLAIN.length], 'the decompressed body\'s size');

    const plainStd = await load(['-n', '2', '-stdclient', `${url}/`]);
    assert.deepEqual(seen.splice(0), [undefined, undefined], 'no Accept-Encoding without -compression');
    assert.deepEqual([plainStd.Compression, plainStd.Sizes.Max], [false, PLAIN.length]);

    const fast = await load(['-n', '2', '-compression', `${url}/`]);
    assert.deepEqual(seen.splice(0), [undefined, undefined], 'the fast client sends no Accept-Encoding');
    assert.equal(fast.Compression, true, 'the JSON records the flag all the same');

    const asked = await load(['-n', '2', '-stdclient', '-compression', '-H', 'Accept-Encoding: gzip', `${url}/`]);
    assert.deepEqual(seen.splice(0), ['gzip', 'gzip']);
    assert.equal(asked.Sizes.Max, GZIPPED.length, 'an Accept-Encoding of the caller\'s own leaves the body as it came');

    const head = await load(['-n', '1', '-stdclient', '-compression', '-X', 'HEAD', `${url}/`]);
    assert.deepEqual([seen.splice(0), head.RetCodes], [[undefined], { '200': 1 }], 'Go asks for no gzip on a HEAD');

    const corrupt = await load(['-n', '2', '-stdclient', '-compression', `${url}/corrupt`]);
    assert.deepEqual(corrupt.RetCodes, { '204': 2 }, 'an OK response whose body does not decompress is Fortio\'s 204');
  } finally {
    server.close();
  }
});

test('-compression over HTTP/2 (Fortio\'s -h2 uses its standard client): gzip asked for and decompressed', async () => {
  const seen: Array<string | undefined> = [];
  const server = http2.createServer(respond(seen));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const r = await load(['-n', '3', '-h2', '-compression', `http://127.0.0.1:${(server.address() as AddressInfo).port}/`]);
    assert.deepEqual(seen, ['gzip', 'gzip', 'gzip']);
    assert.deepEqual([r.RetCodes, r.Sizes.Min, r.Sizes.Max], [{ '200': 3 }, PLAIN.length, PLAIN.length]);
  } finally {
    server.close();
  }
});
