/**
 * A response cut short (here by the route timeout while it streams) reaches an HTTP/2 client as a
 * reset even when the client reads slowly and the proxy still has data queued for it. node:http2
 * holds a reset behind data already queued, and ending the stream queued END_STREAM behind that
 * same data: the client read the cut body, then a clean end, and took a truncated response of no
 * announced length for the whole of it.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

let upstream: http.Server;
let proxy: RunningProxy;
let port: number;

before(async () => {
  // Streams 64 KiB chunks without a Content-Length for as long as the proxy reads them.
  upstream = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
    res.on('error', () => undefined);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up', timeout: '1s' } }]);
  proxy = await startProxy(bootstrap([httpListener('in', port, routes)], [staticCluster('up', [(upstream.address() as AddressInfo).port])]));
});

after(async () => {
  await proxy?.stop();
  upstream?.closeAllConnections();
  upstream?.close();
});

test('a response the route timeout cuts reaches a slow-reading HTTP/2 client (curl --limit-rate) as a reset, never as a clean end', async () => {
  // curl opens large windows, as browsers do: the proxy's queue, not flow control, holds the backlog.
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      'curl',
      ['-sS', '--http2-prior-knowledge', '--limit-rate', '2M', '--max-time', '20', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', `http://127.0.0.1:${port}/stream`],
      (err, out, errOut) => resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout: out, stderr: errOut }),
    );
  });
  const [status, size] = stdout.split(' ');
  assert.equal(status, '200');
  assert.ok(Number(size) > 0, 'the response had started');
  // 92: "HTTP/2 stream was not closed cleanly". 0 would mean the truncated body passed for the whole.
  assert.equal(code, 92, `curl exit ${code} after ${size} bytes: ${stderr}`);
  assert.match(stderr, /INTERNAL_ERROR/);
});
