import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { scratchPath } from '../support/scratch-path.js';

let up: TestUpstream;
let proxy: RunningProxy;
let port: number;
let tlsPort: number;
const pki = makePki();
const leaf = pki.issue('gw', 'DNS:localhost');
const accessLog = scratchPath('admin.log');

before(async () => {
  up = await startUpstream('up');
  port = await freePort();
  tlsPort = await freePort();
  const routes = routeConfig([{ name: 'all', match: { prefix: '/' }, route: { cluster: 'up' } }]);
  const tls = {
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      typedConfig: { commonTlsContext: { tlsCertificates: [{ certificateChain: { filename: leaf.cert }, privateKey: { inlineString: readFileSync(leaf.key, 'utf8') } }] } },
    },
  };
  proxy = await startProxy(
    bootstrap([httpListener('ingress', port, routes, { accessLog: [{ typedConfig: { path: accessLog } }] }), httpListener('tls', tlsPort, routes, { accessLog: [{ typedConfig: { path: accessLog } }] }, tls)], [staticCluster('up', [up.port])]),
    { extraArgs: ['--insecure-memory-keys'] },
  );
});

after(async () => {
  await proxy?.stop();
  await up?.close();
});

test('/stats/prometheus exposes Istio standard metrics with their labels', async () => {
  for (let i = 0; i < 3; i++) await curl([`http://127.0.0.1:${port}/m`]);
  const text = (await proxy.get('/stats/prometheus')).body;
  assert.match(text, /# TYPE istio_requests_total counter/);
  assert.match(text, /istio_requests_total\{[^}]*destination_service="up"[^}]*response_code="200"[^}]*\} 3/);
  assert.match(text, /# TYPE istio_request_duration_milliseconds histogram/);
  assert.match(text, /istio_request_duration_milliseconds_bucket\{[^}]*le="\+Inf"\} 3/);
  assert.match(text, /istio_response_bytes_sum\{/);
  assert.match(text, /bulwark_worker_active_connections\{worker="0"\}/);
});

test('the access log has one JSON line per request with the fields operators expect', async () => {
  await curl([`http://127.0.0.1:${port}/logged?q=1`, '-H', 'user-agent: test-agent']);
  await new Promise((r) => setTimeout(r, 300));
  const line = readFileSync(accessLog, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.path === '/logged?q=1');
  assert.ok(line);
  assert.equal(line.method, 'GET');
  assert.equal(line.response_code, 200);
  assert.equal(line.user_agent, 'test-agent');
  assert.equal(line.upstream_cluster, 'up');
  assert.equal(line.route_name, 'all');
  assert.match(String(line.upstream_host), /^127\.0\.0\.1:\d+$/);
  assert.match(String(line.request_id), /^[0-9a-f-]{36}$/);
  // Both connections' ends, as Envoy writes them ("ip:port").
  assert.equal(line.downstream_local_address, `127.0.0.1:${port}`);
  assert.match(String(line.downstream_remote_address), /^127\.0\.0\.1:\d+$/);
  assert.notEqual(line.downstream_remote_address, `127.0.0.1:${port}`);
  assert.match(String(line.upstream_local_address), /^127\.0\.0\.1:\d+$/);
  assert.notEqual(line.upstream_local_address, line.upstream_host);
  assert.equal(line.requested_server_name, null, 'no TLS, no SNI');
});

test('over TLS the access log names the server the client asked for (SNI), and HTTP/2 logs the same ends', async () => {
  const r = await curl(['-k', '--http2', '--resolve', `localhost:${tlsPort}:127.0.0.1`, `https://localhost:${tlsPort}/sni-logged`]);
  assert.equal(r.status, 200);
  assert.equal(r.httpVersion, '2');
  await new Promise((r) => setTimeout(r, 300));
  const line = readFileSync(accessLog, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.path === '/sni-logged');
  assert.ok(line);
  assert.equal(line.protocol, 'HTTP/2');
  assert.equal(line.requested_server_name, 'localhost');
  assert.equal(line.downstream_local_address, `127.0.0.1:${tlsPort}`);
  assert.match(String(line.downstream_remote_address), /^127\.0\.0\.1:\d+$/);
  assert.match(String(line.upstream_local_address), /^127\.0\.0\.1:\d+$/);
});

test('/config_dump shows the running config and never shows key bytes; /bulwark/status warns about memory keys', async () => {
  const dump = (await proxy.get('/config_dump')).body;
  assert.match(dump, /\[redacted\]/);
  assert.doesNotMatch(dump, /PRIVATE KEY/);
  const bootstrap = (JSON.parse(dump) as { configs: Array<{ bootstrap?: { node: { id: string } } }> }).configs[0]!.bootstrap!;
  assert.equal(bootstrap.node.id, 'test-proxy');
  assert.match((await proxy.get('/bulwark/status')).body, /INSECURE/);
});

test('/ready and /healthz answer, unknown admin paths 404', async () => {
  assert.equal((await proxy.get('/ready')).status, 200);
  assert.equal((await proxy.get('/healthz')).status, 200);
  assert.equal((await proxy.get('/nope')).status, 404);
});

test('a memory-held key is refused without the insecure flag', async () => {
  const p2 = await freePort();
  const tls = {
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      typedConfig: { commonTlsContext: { tlsCertificates: [{ certificateChain: { filename: leaf.cert }, privateKey: { filename: leaf.key } }] } },
    },
  };
  await assert.rejects(
    startProxy(bootstrap([httpListener('tls', p2, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up' } }]), {}, tls)], [staticCluster('up', [up.port])])),
    /privateKey in memory is refused/,
  );
});

test('POST /quitquitquit drains and exits', async () => {
  const res = await fetch(`http://127.0.0.1:${proxy.adminPort}/quitquitquit`, { method: 'POST' });
  assert.equal(res.status, 200);
  const code = await new Promise<number | null>((resolve) => proxy.child.once('exit', (c) => resolve(c)));
  assert.equal(code, 0);
});
