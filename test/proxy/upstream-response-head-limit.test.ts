/**
 * An HTTP/1.1 upstream's response head is limited as Envoy limits it by default (60 KiB): a larger one
 * is a 502, answered to HTTP/1.1 and HTTP/2 clients alike. With the old 96 KiB limit a 90 KB field
 * reached HTTP/2 clients, and curl's nghttp2 ended the whole connection with COMPRESSION_ERROR.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

const run = promisify(execFile);
let upstream: net.Server;
let proxy: RunningProxy;
let port: number;

/** Answers /field/N with a response whose one extra header field carries N bytes. */
function headUpstream(): Promise<net.Server> {
  const server = net.createServer((s) => {
    let got = '';
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      let end: number;
      while ((end = got.indexOf('\r\n\r\n')) >= 0) {
        const size = Number(/^GET \/field\/(\d+)/.exec(got)?.[1] ?? 0);
        got = got.slice(end + 4);
        s.write(`HTTP/1.1 200 OK\r\nX-Big: ${'v'.repeat(size)}\r\nContent-Length: 2\r\n\r\nok`);
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

before(async () => {
  upstream = await headUpstream();
  port = await freePort();
  const upstreamPort = (upstream.address() as net.AddressInfo).port;
  proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up' } }]))], [staticCluster('up', [upstreamPort])]));
});

after(async () => {
  await proxy?.stop();
  upstream?.close();
});

test('a response head under 60 KiB passes; a larger one is a 502 over HTTP/1.1', async () => {
  const ok = await curl([`http://127.0.0.1:${port}/field/50000`]);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['x-big']?.length, 50000);
  const big = await curl([`http://127.0.0.1:${port}/field/70000`]);
  assert.equal(big.status, 502);
});

test('over HTTP/2 an oversized upstream head is one stream\'s 502, and the connection serves the other stream (nghttp)', async () => {
  // nghttp sends both requests on one connection.
  const { stdout } = await run('nghttp', ['-n', '-s', `http://127.0.0.1:${port}/field/90000`, `http://127.0.0.1:${port}/field/10`], { timeout: 10_000 });
  assert.match(stdout, / 502 +\d+ \/field\/90000/, stdout);
  assert.match(stdout, / 200 +2 \/field\/10/, stdout);
});
