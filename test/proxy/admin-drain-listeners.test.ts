/**
 * POST /drain_listeners as Istio's pilot-agent sends it on shutdown (`?inboundonly&graceful`), and as
 * Envoy's admin defines it: with `graceful` the listeners keep accepting for the drain time while
 * their connections are asked to close (HTTP/1.1 `Connection: close`, HTTP/2 GOAWAY), then they stop;
 * without it they stop at once. The process and its admin port keep running. With 1 and 2 workers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { watchGoaways } from '../support/h2-goaway-client.js';
import { KeepAliveClient } from '../support/keepalive-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let up: TestUpstream;

before(async () => {
  up = await startUpstream('up');
});

after(async () => {
  await up?.close();
});

interface Mesh {
  proxy: RunningProxy;
  admin: string;
  inbound: number;
  outbound: number;
}

/** A sidecar's two sides: an INBOUND listener and an OUTBOUND one, both to the same upstream. */
async function startSidecar(concurrency: number, drainTimeS: number): Promise<Mesh> {
  const inbound = await freePort();
  const outbound = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up' } }]);
  const listeners = [
    { ...httpListener('virtualInbound', inbound, routes), trafficDirection: 'INBOUND' },
    { ...httpListener('virtualOutbound', outbound, routes), trafficDirection: 'OUTBOUND' },
  ];
  const proxy = await startProxy(bootstrap(listeners, [staticCluster('up', [up.port])]), { concurrency, extraArgs: ['--drain-time', String(drainTimeS)] });
  return { proxy, admin: `http://127.0.0.1:${proxy.adminPort}`, inbound, outbound };
}

/** Whether a new TCP connection to `port` is refused (nothing listens) rather than accepted. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' ? resolve(true) : reject(err)));
  });
}

async function waitUntilRefused(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await refused(port))) {
    if (Date.now() > deadline) throw new Error(`port ${port} still accepts after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const concurrency of [1, 2]) {
  test(`POST /drain_listeners?inboundonly&graceful (${concurrency} worker(s)): inbound connections are told to close while the listener still accepts, then it refuses; outbound and admin keep serving`, async () => {
    const { proxy, admin, inbound, outbound } = await startSidecar(concurrency, 2);
    try {
      const kept = await KeepAliveClient.connect(inbound);
      assert.equal((await kept.get('/before')).headers.connection, undefined, 'a keep-alive response before the drain');
      const h2 = watchGoaways(inbound);
      assert.equal(await h2.get('/before'), 200);

      const drainStarted = Date.now();
      const r = await curl(['-X', 'POST', `${admin}/drain_listeners?inboundonly&graceful`]);
      assert.equal(r.status, 200);
      assert.equal(r.body, 'OK\n');
      const ready = await curl([`${admin}/ready`]);
      assert.deepEqual([ready.status, ready.body], [503, 'DRAINING\n']);

      // The kept-alive connection's next response says close, and the connection ends after it.
      const last = await kept.get('/during');
      assert.equal(last.status, 200);
      assert.equal(last.headers.connection, 'close');
      await kept.closed;
      // A new connection is still accepted during the drain time, and told to close.
      const fresh = await curl([`http://127.0.0.1:${inbound}/new-during-drain`]);
      assert.equal(fresh.status, 200);
      assert.equal(fresh.headers.connection, 'close');
      // HTTP/2: the stream is served, and GOAWAY asks for no more on this connection.
      assert.equal(await h2.get('/during'), 200);
      await h2.untilGoaway(2_000, 'a GOAWAY on the inbound HTTP/2 connection');
      h2.session.close();
      // The outbound listener is not drained.
      const out = await curl([`http://127.0.0.1:${outbound}/outbound-during-drain`]);
      assert.equal(out.status, 200);
      assert.equal(out.headers.connection, undefined);

      await waitUntilRefused(inbound, 6_000);
      assert.ok(Date.now() - drainStarted >= 1_500, `the inbound listener stopped after ${Date.now() - drainStarted} ms, before the drain time`);
      assert.equal((await curl([`http://127.0.0.1:${outbound}/outbound-after-drain`])).status, 200);
      assert.equal((await curl([`${admin}/healthz`])).status, 200);
      assert.equal(proxy.child.exitCode, null, 'the proxy kept running');
    } finally {
      assert.equal(await proxy.stop(), 0);
    }
  });

  test(`POST /drain_listeners (${concurrency} worker(s)): every listener refuses at once, open connections are served on, and the admin port stays up`, async () => {
    const { proxy, admin, inbound, outbound } = await startSidecar(concurrency, 30);
    try {
      assert.equal((await curl([`${admin}/drain_listeners`])).status, 405);
      const skipAlone = await curl(['-X', 'POST', `${admin}/drain_listeners?skip_exit`]);
      assert.deepEqual([skipAlone.status, skipAlone.body], [400, 'skip_exit requires graceful\n']);
      assert.equal(await refused(inbound), false, 'neither a GET nor a refused call stops a listener');

      const kept = await KeepAliveClient.connect(outbound);
      assert.equal((await kept.get('/before')).status, 200);
      assert.equal((await curl(['-X', 'POST', `${admin}/drain_listeners`])).status, 200);
      assert.equal(await refused(inbound), true, 'the inbound listener refuses');
      assert.equal(await refused(outbound), true, 'the outbound listener refuses');
      const after = await kept.get('/after');
      assert.equal(after.status, 200, 'a connection accepted before is still served');
      kept.close();
      assert.equal((await curl([`${admin}/ready`])).status, 200, 'no drain sequence: the server stays LIVE');
      // A reload does not open a stopped listener again.
      proxy.reload(readFileSync(proxy.configFile, 'utf8'));
      await proxy.waitForLog(/config applied/);
      assert.equal(await refused(inbound), true, 'the inbound listener still refuses after a reload');
      assert.equal(proxy.child.exitCode, null, 'the proxy kept running');
    } finally {
      assert.equal(await proxy.stop(), 0);
    }
  });
}
