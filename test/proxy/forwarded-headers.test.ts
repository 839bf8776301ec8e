/**
 * x-forwarded-for, x-forwarded-proto and Envoy's internal-origin headers as Envoy sets them, with
 * xffNumTrustedHops deciding which address is the client's: what the upstream sees, and what the
 * access log says.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { scratchPath } from '../support/scratch-path.js';

let upstream: TestUpstream;
let proxy: RunningProxy;
let edgePort: number;
let sidecarPort: number;
const log = scratchPath('forwarded.log');

before(async () => {
  upstream = await startUpstream('app');
  edgePort = await freePort();
  sidecarPort = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]);
  const accessLog = [{ typedConfig: { path: log, logFormat: { jsonFormat: { path: '%REQ(:PATH)%', client: '%DOWNSTREAM_REMOTE_ADDRESS%', peer: '%DOWNSTREAM_DIRECT_REMOTE_ADDRESS%' } } } }];
  proxy = await startProxy(
    bootstrap(
      [
        // An edge with one trusted load balancer in front of it.
        httpListener('edge', edgePort, routes, { useRemoteAddress: true, xffNumTrustedHops: 1, preserveExternalRequestId: false, accessLog }),
        // A sidecar: the proxy that called it appended the client.
        httpListener('sidecar', sidecarPort, routes, { useRemoteAddress: false, accessLog }),
      ],
      [staticCluster('app', [upstream.port])],
    ),
  );
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

async function seen(port: number, path: string, headers: string[]): Promise<Record<string, string>> {
  const args = headers.flatMap((h) => ['-H', h]);
  const r = await curl([...args, `http://127.0.0.1:${port}${path}`]);
  assert.equal(r.status, 200);
  return JSON.parse(r.body).headers as Record<string, string>;
}

async function logged(path: string): Promise<{ client: string; peer: string }> {
  for (let i = 0; i < 100; i++) {
    try {
      const line = readFileSync(log, 'latin1').split('\n').find((l) => l.includes(`"${path}"`));
      if (line) {
        // Envoy writes addresses with their port: the peer's own, or 0 for one x-forwarded-for named.
        const entry = JSON.parse(line) as { client: string; peer: string };
        const peer = entry.peer;
        assert.match(peer, /^127\.0\.0\.1:\d+$/);
        return { ...entry, client: entry.client === peer ? '127.0.0.1:port' : entry.client, peer: '127.0.0.1:port' };
      }
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no access log line for ${path}`);
}

test('edge with one trusted hop: the client is the last x-forwarded-for entry, and its x-forwarded-proto is kept', async () => {
  const h = await seen(edgePort, '/edge-external', ['x-forwarded-for: 198.51.100.7', 'x-forwarded-proto: https', 'x-envoy-internal: true', 'x-envoy-external-address: 10.0.0.1']);
  assert.equal(h['x-forwarded-for'], '198.51.100.7, 127.0.0.1');
  assert.equal(h['x-forwarded-proto'], 'https');
  assert.equal(h['x-envoy-internal'], undefined, 'a client cannot claim to be internal');
  assert.equal(h['x-envoy-external-address'], '198.51.100.7');
  assert.deepEqual(await logged('/edge-external'), { path: '/edge-external', client: '198.51.100.7:0', peer: '127.0.0.1:port' });
});

test('edge: a request from an internal peer without x-forwarded-for is internal origin', async () => {
  const h = await seen(edgePort, '/edge-internal', ['x-request-id: kept-inside']);
  assert.equal(h['x-envoy-internal'], 'true');
  assert.equal(h['x-envoy-external-address'], undefined);
  assert.equal(h['x-forwarded-proto'], 'http');
  assert.equal(h['x-request-id'], 'kept-inside', 'an internal request keeps its id');
});

test('edge: an external request id is replaced when preserveExternalRequestId is off', async () => {
  const h = await seen(edgePort, '/edge-rid', ['x-forwarded-for: 198.51.100.7', 'x-request-id: chosen-by-client']);
  assert.notEqual(h['x-request-id'], 'chosen-by-client');
  assert.match(h['x-request-id']!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('edge: too short a list, or an entry that is no address, leaves the peer as the client', async () => {
  await seen(edgePort, '/edge-junk', ['x-forwarded-for: not-an-address']);
  assert.deepEqual(await logged('/edge-junk'), { path: '/edge-junk', client: '127.0.0.1:port', peer: '127.0.0.1:port' });
});

test('sidecar: x-forwarded-for passes unchanged, its last entry is the client, an untrusted x-forwarded-proto is replaced', async () => {
  const h = await seen(sidecarPort, '/sidecar-internal', ['x-forwarded-for: 10.1.2.3', 'x-forwarded-proto: https', 'x-envoy-internal: false']);
  assert.equal(h['x-forwarded-for'], '10.1.2.3');
  assert.equal(h['x-forwarded-proto'], 'http', 'without trusted hops a client cannot claim https');
  assert.equal(h['x-envoy-internal'], 'true', 'a single internal address in x-forwarded-for is internal origin');
  assert.deepEqual(await logged('/sidecar-internal'), { path: '/sidecar-internal', client: '10.1.2.3:0', peer: '127.0.0.1:port' });
});

test('sidecar: an external client is not internal, and the edge\'s x-envoy-external-address passes', async () => {
  const h = await seen(sidecarPort, '/sidecar-external', ['x-forwarded-for: 203.0.113.1', 'x-envoy-external-address: 203.0.113.1']);
  assert.equal(h['x-envoy-internal'], undefined);
  assert.equal(h['x-envoy-external-address'], '203.0.113.1');
  assert.equal(h['x-forwarded-proto'], 'http');
});
