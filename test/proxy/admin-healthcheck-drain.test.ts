/**
 * POST /healthcheck/fail drains HTTP connections as Envoy's drain manager does while the server fails
 * health checks: an HTTP/1.1 keep-alive connection gets `Connection: close` on its next response, an
 * HTTP/2 connection a GOAWAY at its next stream; the listener still accepts and serves. POST
 * /healthcheck/ok ends it. With 1 and 2 workers.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { watchGoaways } from '../support/h2-goaway-client.js';
import { KeepAliveClient } from '../support/keepalive-client.js';
import { startProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let up: TestUpstream;

before(async () => {
  up = await startUpstream('up');
});

after(async () => {
  await up?.close();
});

for (const concurrency of [1, 2]) {
  test(`POST /healthcheck/fail (${concurrency} worker(s)): keep-alive connections get Connection: close and HTTP/2 a GOAWAY at their next request; /healthcheck/ok keeps connections alive again`, async () => {
    const port = await freePort();
    const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up' } }]);
    const proxy = await startProxy(bootstrap([httpListener('ingress', port, routes)], [staticCluster('up', [up.port])]), { concurrency });
    const admin = `http://127.0.0.1:${proxy.adminPort}`;
    try {
      const kept = await KeepAliveClient.connect(port);
      assert.equal((await kept.get('/before')).headers.connection, undefined);
      const h2 = watchGoaways(port);
      assert.equal(await h2.get('/before'), 200);

      assert.equal((await curl(['-X', 'POST', `${admin}/healthcheck/fail`])).status, 200);
      const last = await kept.get('/failed');
      assert.equal(last.status, 200, 'traffic still flows');
      assert.equal(last.headers.connection, 'close');
      await kept.closed;
      const fresh = await curl([`http://127.0.0.1:${port}/new-while-failed`]);
      assert.equal(fresh.status, 200, 'the listener still accepts');
      assert.equal(fresh.headers.connection, 'close');
      assert.equal(await h2.get('/failed'), 200);
      await h2.untilGoaway(2_000, 'a GOAWAY on the HTTP/2 connection');
      assert.equal(h2.goaways[0], 2 ** 31 - 1, 'the first GOAWAY refuses no stream already sent');
      h2.session.close();

      assert.equal((await curl(['-X', 'POST', `${admin}/healthcheck/ok`])).status, 200);
      const again = await KeepAliveClient.connect(port);
      for (const path of ['/ok-1', '/ok-2']) assert.equal((await again.get(path)).headers.connection, undefined, path);
      const h2Again = watchGoaways(port);
      assert.equal(await h2Again.get('/ok'), 200);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(h2Again.goaways, []);
      h2Again.session.close();
      again.close();
    } finally {
      assert.equal(await proxy.stop(), 0);
    }
  });
}
