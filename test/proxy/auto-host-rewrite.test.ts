/**
 * A route with autoHostRewrite sends the chosen endpoint's name as Host: a DNS cluster's name for the
 * endpoint, or the endpoint's hostname field; without a name the Host stays as the client sent it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { address, bootstrap, httpListener, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  upstream = await startUpstream('app');
  port = await freePort();
  const route = (prefix: string, cluster: string) => ({ match: { prefix }, route: { cluster, autoHostRewrite: true } });
  const routes = { name: 'r', virtualHosts: [{ name: 'all', domains: ['*'], routes: [route('/dns', 'dns'), route('/named', 'named'), route('/plain', 'plain')] }] };
  const dns = { name: 'dns', type: 'STRICT_DNS', connectTimeout: '1s', loadAssignment: { endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: 'localhost', portValue: upstream.port } } } }] }] } };
  const named = { name: 'named', type: 'STATIC', connectTimeout: '1s', loadAssignment: { endpoints: [{ lbEndpoints: [{ endpoint: { address: address(upstream.port), hostname: 'orders.internal' } }] }] } };
  proxy = await startProxy(bootstrap([httpListener('h', port, routes)], [dns, named, staticCluster('plain', [upstream.port])]));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

async function hostSeen(path: string): Promise<string> {
  const r = await curl(['-H', 'Host: shop.example.com', `http://127.0.0.1:${port}${path}`]);
  assert.equal(r.status, 200);
  return (JSON.parse(r.body) as { headers: { host: string } }).headers.host;
}

test('a DNS cluster: Host is the name the endpoint was resolved from', async () => {
  assert.equal(await hostSeen('/dns'), 'localhost');
});

test("a static endpoint with a hostname: Host is that name", async () => {
  assert.equal(await hostSeen('/named'), 'orders.internal');
});

test('an endpoint without a name leaves the Host the client sent', async () => {
  assert.equal(await hostSeen('/plain'), 'shop.example.com');
});
