/**
 * A reload refused because a new listener's port is taken leaves no socket behind. Workers bind through
 * node:cluster, which keeps the socket it got from the primary open in the worker (and the primary's copy
 * with it) when that bind fails: every such refusal cost a descriptor in each process, for good.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const REFUSALS = 6;
let upstream: TestUpstream;
let taken: net.Server;
let busyPort: number;
let proxy: RunningProxy;
let port: number;

const routes = (): object => routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]);

before(async () => {
  upstream = await startUpstream('app');
  taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  busyPort = (taken.address() as net.AddressInfo).port;
  port = await freePort();
  proxy = await startProxy(bootstrap([httpListener('main', port, routes())], [staticCluster('app', [upstream.port])]), { concurrency: 2 });
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
  taken?.close();
});

/** Open descriptors of the primary and each worker. */
async function descriptors(): Promise<number[]> {
  const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as { workers: Array<{ pid: number }> };
  return [proxy.child.pid!, ...dump.workers.map((w) => w.pid)].map((pid) => readdirSync(`/proc/${pid}/fd`).length);
}

test('reloads refused for a taken port leave no socket open in the primary or the workers', async () => {
  const before = await descriptors();
  for (let i = 1; i <= REFUSALS; i++) {
    proxy.reload(bootstrap([httpListener('main', port, routes()), httpListener(`taken-${i}`, busyPort, routes())], [staticCluster('app', [upstream.port])]));
    await proxy.waitForLog(new RegExp(`(config reload rejected.*){${i}}`, 's'));
    assert.match(proxy.logs(), new RegExp(`listener \\\\"taken-${i}\\\\": cannot listen on 127\\.0\\.0\\.1:${busyPort}: [^"]*EADDRINUSE`));
  }
  const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
  assert.equal(res.status, 200);
  await res.text();
  const now = await descriptors();
  // A descriptor or two may come and go (the admin connection just closed); the leak was one per refusal in each process.
  now.forEach((n, i) => assert.ok(n <= before[i]! + 2, `process ${i}: ${before[i]} descriptors before, ${n} after ${REFUSALS} refused reloads`));
});
