/**
 * A reload that renames a listener but keeps its address (a config generator renaming resources, one
 * listener replaced by another on the same port) is applied: the new listener takes over the socket,
 * as Envoy hands a draining listener's socket to its successor on the same address. Opening a second
 * socket on the address while the first still listens fails with EADDRINUSE, which refused the reload.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { listenerPorts } from '../support/admin-listeners.js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let a: TestUpstream;
let b: TestUpstream;
let proxy: RunningProxy;
let sharedPort: number;
let balancedPort: number;

/** The two listeners under `suffix`, routing to `cluster`: one accepted by the workers, one by the primary's balancer. */
function config(suffix: string, cluster: string): string {
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster } }]);
  const balanced = httpListener(`balanced-${suffix}`, balancedPort, routes);
  (balanced as { connectionBalanceConfig?: object }).connectionBalanceConfig = { balancer: 'round-robin' };
  return bootstrap([httpListener(`shared-${suffix}`, sharedPort, routes), balanced], [staticCluster('a', [a.port]), staticCluster('b', [b.port])]);
}

before(async () => {
  a = await startUpstream('a');
  b = await startUpstream('b');
  sharedPort = await freePort();
  balancedPort = await freePort();
  proxy = await startProxy(config('1', 'a'));
});

after(async () => {
  await proxy?.stop();
  await a?.close();
  await b?.close();
});

async function upstreamBehind(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
  return (JSON.parse(await res.text()) as { upstream: string }).upstream;
}

test('a listener renamed on the same address is applied and its address serves the new routes', async () => {
  let version = 1;
  for (const [suffix, cluster] of [['2', 'b'], ['3', 'a'], ['4', 'b']] as const) {
    proxy.reload(config(suffix, cluster));
    version++;
    for (let i = 0; ; i++) {
      const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as { version: string; lastReloadError?: string };
      assert.equal(dump.lastReloadError, undefined, `listeners renamed to *-${suffix}`);
      if (dump.version === `static-${version}`) break;
      assert.ok(i < 100, `static-${version} not applied: ${dump.version}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; i < 4; i++) {
      assert.equal(await upstreamBehind(sharedPort), cluster);
      assert.equal(await upstreamBehind(balancedPort), cluster);
    }
    assert.deepEqual(await listenerPorts(proxy), { [`shared-${suffix}`]: sharedPort, [`balanced-${suffix}`]: balancedPort });
  }
});
