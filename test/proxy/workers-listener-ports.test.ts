/** Listener addresses with workers (the default concurrency): port 0, IPv6 loopback. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listenerPorts } from '../support/admin-listeners.js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy } from '../support/proxy-process.js';
import { startUpstream } from '../support/upstream.js';

const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'a' } }]);

async function status(url: string): Promise<number> {
  const res = await fetch(url, { headers: { connection: 'close' } });
  await res.text();
  return res.status;
}

interface Dump {
  listenerPorts: Record<string, number>;
  workers: Array<{ pid: number; ready: boolean; ports: Record<string, number> }>;
}

test('--concurrency 2: a listener on port 0 is reported with its real port, which both workers serve', async () => {
  const upstream = await startUpstream('a');
  const proxy = await startProxy(bootstrap([httpListener('zero', 0, routes)], [staticCluster('a', [upstream.port])]), { concurrency: 2 });
  try {
    const port = (await listenerPorts(proxy)).zero!;
    assert.ok(port > 0, `/listeners reported port ${port}`);
    const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as Dump;
    assert.equal(dump.listenerPorts.zero, port);
    assert.deepEqual(dump.workers.map((w) => w.ports.zero), [port, port], 'one shared socket, not a port per worker');
    assert.equal(await status(`http://127.0.0.1:${port}/`), 200);
    // With one worker gone, the other still serves that port, and the replacement binds the same one.
    process.kill(dump.workers[0]!.pid, 'SIGKILL');
    for (let i = 0; i < 5; i++) assert.equal(await status(`http://127.0.0.1:${port}/`), 200);
    let now = dump;
    for (let i = 0; i < 100 && !(now.workers.every((w) => w.ready) && now.workers[0]!.pid !== dump.workers[0]!.pid); i++) {
      await new Promise((r) => setTimeout(r, 100));
      now = JSON.parse((await proxy.get('/bulwark/status')).body) as Dump;
    }
    assert.deepEqual(now.workers.map((w) => [w.ready, w.ports.zero]), [[true, port], [true, port]]);
  } finally {
    await proxy.stop();
    await upstream.close();
  }
});

test('--concurrency 2: an IPv6 loopback listener serves and is reported', async () => {
  const upstream = await startUpstream('a');
  const port = await freePort();
  const v6 = httpListener('v6', port, routes) as { address: { socketAddress: { address: string } } };
  v6.address.socketAddress.address = '::1';
  const proxy = await startProxy(bootstrap([v6], [staticCluster('a', [upstream.port])]), { concurrency: 2 });
  try {
    assert.equal(await status(`http://[::1]:${port}/`), 200);
    assert.deepEqual(await listenerPorts(proxy), { v6: port });
  } finally {
    await proxy.stop();
    await upstream.close();
  }
});
