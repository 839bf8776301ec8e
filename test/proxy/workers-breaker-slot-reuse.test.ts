/**
 * The shared breaker table has a slot per cluster (BULWARK_CLUSTER_SLOTS, small here). A control plane
 * that renames clusters with every push must not run it out of slots: a removed cluster's slot is given
 * back once no worker counts in it, and the limits keep holding for the whole proxy. A request of a
 * removed cluster may still be in flight when its slot goes to another cluster: the new owner neither
 * inherits that request's count nor loses one when it ends.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let upstream: TestUpstream;
/** Requests the upstream holds until the test lets them go, by path. */
const held = new Map<string, http.ServerResponse>();

before(async () => {
  upstream = await startUpstream('slow', (req, res) => {
    if (req.url!.startsWith('/hold')) held.set(req.url!, res);
    else res.end('ok');
  });
});

after(async () => {
  for (const res of held.values()) res.end('ok');
  await upstream?.close();
});

/** A proxy on one round-robin listener whose every request goes to `cluster`, the config's only cluster. */
function config(port: number, cluster: string, maxRequests: number): string {
  const listener = httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster, timeout: '20s' } }]));
  const breakers = { circuitBreakers: { thresholds: [{ maxRequests }] } };
  return bootstrap([{ ...listener, connectionBalanceConfig: { balancer: 'round-robin' } }], [staticCluster(cluster, [upstream.port], breakers)]);
}

async function start(port: number, cluster: string, maxRequests: number, slots: number): Promise<RunningProxy> {
  return startProxy(config(port, cluster, maxRequests), { concurrency: 2, env: { BULWARK_CLUSTER_SLOTS: String(slots) } });
}

async function reloadTo(proxy: RunningProxy, port: number, cluster: string, maxRequests: number): Promise<void> {
  const applied = proxy.logs().split('config applied').length;
  proxy.reload(config(port, cluster, maxRequests));
  for (let i = 0; i < 200 && proxy.logs().split('config applied').length === applied; i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(proxy.logs().split('config applied').length > applied, `reload to ${cluster} applied:\n${proxy.logs()}`);
}

/** The status curl gets (0 for no answer); each call is a connection of its own, so round-robin alternates the workers. */
async function status(port: number, path: string): Promise<number> {
  try {
    return (await curl([`http://127.0.0.1:${port}${path}`], 30_000)).status;
  } catch {
    return 0;
  }
}

async function waitHeld(paths: string[]): Promise<void> {
  for (let i = 0; i < 200 && !paths.every((p) => held.has(p)); i++) await new Promise((r) => setTimeout(r, 25));
  assert.deepEqual(paths.filter((p) => !held.has(p)), [], 'the upstream holds these requests');
}

function release(path: string): void {
  held.get(path)?.end('ok');
  held.delete(path);
}

test('after three times as many fresh cluster names as the table has slots, maxRequests 2 still holds across both workers', async () => {
  const port = await freePort();
  const slots = 4;
  const proxy = await start(port, 'churn-0', 2, slots);
  try {
    for (let i = 1; i <= slots * 3; i++) await reloadTo(proxy, port, `churn-${i}`, 2);
    const holding = [status(port, '/hold/churn-a'), status(port, '/hold/churn-b')];
    await waitHeld(['/hold/churn-a', '/hold/churn-b']);
    // One request held on each worker: a count per worker would let both of these through.
    assert.deepEqual(await Promise.all([status(port, '/now/1'), status(port, '/now/2')]), [503, 503]);
    release('/hold/churn-a');
    release('/hold/churn-b');
    assert.deepEqual(await Promise.all(holding), [200, 200]);
    assert.deepEqual(await Promise.all([status(port, '/now/3'), status(port, '/now/4')]), [200, 200]);
    assert.doesNotMatch(proxy.logs(), /counted per worker/);
  } finally {
    await proxy.stop();
  }
});

test("a removed cluster's request in flight neither counts against nor is taken off the cluster that gets its slot", async () => {
  const port = await freePort();
  // Two slots: "old" takes one, "mid" the other; "new" can only have old's, once old is gone everywhere.
  const proxy = await start(port, 'old', 10, 2);
  try {
    const oldRequest = status(port, '/hold/old');
    await waitHeld(['/hold/old']);
    await reloadTo(proxy, port, 'mid', 10);
    await reloadTo(proxy, port, 'new', 2);

    // old's request still runs on one worker; new's two requests go one to each worker.
    const holding = [status(port, '/hold/new-a'), status(port, '/hold/new-b')];
    await waitHeld(['/hold/new-a', '/hold/new-b']);
    release('/hold/old');
    assert.equal(await oldRequest, 200, "the removed cluster's request finishes");
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(await Promise.all([status(port, '/now/1'), status(port, '/now/2')]), [503, 503], "new's two requests still count in full");
    release('/hold/new-a');
    release('/hold/new-b');
    assert.deepEqual(await Promise.all(holding), [200, 200]);
    assert.deepEqual(await Promise.all([status(port, '/now/3'), status(port, '/now/4')]), [200, 200]);
    assert.doesNotMatch(proxy.logs(), /counted per worker/);
  } finally {
    await proxy.stop();
  }
});
