/**
 * Which responses carry x-request-id, as Envoy decides it: the upstream always gets one
 * (generateRequestId), the client only when the connection manager sets alwaysSetRequestIdInResponse,
 * or when a request that may steer the proxy asks with x-envoy-force-trace.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let upstream: TestUpstream;
let proxy: RunningProxy;
let plainPort: number;
let alwaysPort: number;

before(async () => {
  upstream = await startUpstream('app');
  plainPort = await freePort();
  alwaysPort = await freePort();
  const routes = routeConfig([
    { match: { path: '/direct' }, directResponse: { status: 200, body: { inlineString: 'direct\n' } } },
    { match: { prefix: '/app' }, route: { cluster: 'app' } },
  ]);
  proxy = await startProxy(
    bootstrap(
      [
        // One trusted hop, so a test can be an external client by naming a public address in x-forwarded-for.
        httpListener('plain', plainPort, routes, { xffNumTrustedHops: 1 }),
        httpListener('always', alwaysPort, routes, { alwaysSetRequestIdInResponse: true }),
      ],
      [staticCluster('app', [upstream.port])],
    ),
  );
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

async function get(port: number, path: string, headers: string[] = []) {
  return curl([...headers.flatMap((h) => ['-H', h]), `http://127.0.0.1:${port}${path}`]);
}

test('by default the upstream gets an x-request-id and the response carries none, nor does a local reply', async () => {
  const r = await get(plainPort, '/app');
  assert.equal(r.status, 200);
  assert.match(JSON.parse(r.body).headers['x-request-id'], UUID_V4);
  assert.equal(r.headers['x-request-id'], undefined);
  const kept = await get(plainPort, '/app', ['x-request-id: from-client']);
  assert.equal(JSON.parse(kept.body).headers['x-request-id'], 'from-client');
  assert.equal(kept.headers['x-request-id'], undefined);
  assert.equal((await get(plainPort, '/nowhere')).headers['x-request-id'], undefined);
  assert.equal((await get(plainPort, '/direct')).headers['x-request-id'], undefined);
});

test('alwaysSetRequestIdInResponse: the response carries the id the upstream saw', async () => {
  const r = await get(alwaysPort, '/app');
  const seen = JSON.parse(r.body).headers['x-request-id'];
  assert.match(seen, UUID_V4);
  assert.equal(r.headers['x-request-id'], seen);
  const kept = await get(alwaysPort, '/app', ['x-request-id: from-client']);
  assert.equal(kept.headers['x-request-id'], 'from-client');
});

test('alwaysSetRequestIdInResponse: a local reply (no route, direct response) carries an id too, set before routing as Envoy does', async () => {
  const missing = await get(alwaysPort, '/nowhere');
  assert.equal(missing.status, 404);
  assert.match(missing.headers['x-request-id']!, UUID_V4);
  const direct = await get(alwaysPort, '/direct', ['x-request-id: from-client']);
  assert.equal(direct.body, 'direct\n');
  assert.equal(direct.headers['x-request-id'], 'from-client');
});

test('x-envoy-force-trace from an internal client returns the id; from an external client the edge strips it, and none returns', async () => {
  const internal = await get(plainPort, '/app', ['x-envoy-force-trace: true']);
  assert.equal(internal.headers['x-request-id'], JSON.parse(internal.body).headers['x-request-id']);
  assert.match(internal.headers['x-request-id']!, UUID_V4);
  const external = await get(plainPort, '/app', ['x-forwarded-for: 198.51.100.7', 'x-envoy-force-trace: true']);
  assert.equal(JSON.parse(external.body).headers['x-envoy-force-trace'], undefined);
  assert.equal(external.headers['x-request-id'], undefined);
});
