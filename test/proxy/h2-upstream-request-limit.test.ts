/**
 * nginx as an HTTP/2 (h2c) upstream with a requests-per-connection limit (keepalive_requests): after
 * that many streams it sends GOAWAY and drops the streams opened past its last id, which the proxy
 * sees as refused. With many streams in flight a request can be refused by several such connections
 * in a row, each having served others first. Those resends used to count against the bound meant for
 * a host that refuses everything (8 attempts), so under h2load a share of requests got 503 (UR) from
 * a healthy upstream.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startNginx, type RunningNginx } from '../support/nginx.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

const run = promisify(execFile);
const REQUESTS_PER_CONNECTION = 5;
let nginx: RunningNginx;
let proxy: RunningProxy;
let port: number;

before(async () => {
  const upstreamPort = await freePort();
  nginx = await startNginx(
    `keepalive_requests ${REQUESTS_PER_CONNECTION};\n  server { listen 127.0.0.1:${upstreamPort} http2; location / { return 200 "served\\n"; } }`,
    upstreamPort,
  );
  port = await freePort();
  const cluster = staticCluster('nginx', [upstreamPort], { http2ProtocolOptions: {} });
  proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'nginx' } }]))], [cluster]));
});

after(async () => {
  await proxy?.stop();
  await nginx?.stop();
});

test('every request succeeds through an HTTP/2 upstream that goes away after a few streams per connection', async () => {
  // 60 streams in flight against 5 per upstream connection: the last ones are refused a dozen times over.
  const { stdout } = await run('h2load', ['-n', '1200', '-c', '2', '-m', '30', `http://127.0.0.1:${port}/`], { timeout: 60_000 });
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded/.exec(stdout);
  assert.ok(requests, stdout);
  assert.match(stdout, /status codes: 1200 2xx, 0 3xx, 0 4xx, 0 5xx/, `h2load:\n${stdout}\nproxy:\n${proxy.logs().slice(-2000)}`);
});

test('an HTTP/1.1 client behind the same proxy sees no 503 either', async () => {
  const { stdout } = await run('h2load', ['--h1', '-n', '600', '-c', '30', `http://127.0.0.1:${port}/`], { timeout: 60_000 });
  assert.match(stdout, /status codes: 600 2xx, 0 3xx, 0 4xx, 0 5xx/, stdout);
});
