/**
 * A worker killed with SIGKILL under load, on listeners the primary accepts and hands out
 * (round-robin, exact): no connection is left hanging, the other worker serves, the dead one is
 * restarted, and the merged counters never go backwards.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream } from '../support/upstream.js';

/** One request on its own connection: the status, 'error' when the connection failed, 'hung' when nothing came in 2 s. */
function request(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.statusCode)));
      res.on('error', () => resolve('error'));
    });
    req.on('error', () => resolve('error'));
    req.on('timeout', () => {
      resolve('hung');
      req.destroy();
    });
  });
}

async function requestsTotal(proxy: RunningProxy): Promise<number> {
  const text = (await proxy.get('/stats/prometheus')).body;
  return [...text.matchAll(/^istio_requests_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

for (const balancer of ['round-robin', 'exact']) {
  test(`${balancer}: connections handed out as a worker is SIGKILLed do not hang, and the other worker serves`, async () => {
    const upstream = await startUpstream('a');
    const port = await freePort();
    const listener = httpListener('main', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'a' } }])) as { connectionBalanceConfig?: object };
    listener.connectionBalanceConfig = { balancer };
    const proxy = await startProxy(bootstrap([listener], [staticCluster('a', [upstream.port])]), { concurrency: 2 });
    try {
      for (let round = 0; round < 2; round++) {
        const before = await requestsTotal(proxy);
        const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as { workers: Array<{ pid: number; ready: boolean }> };
        const victim = dump.workers[round % 2]!.pid;
        process.kill(victim, 'SIGKILL');
        // Connections right behind the kill: some were queued for the dead worker in the primary.
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => new Promise((r) => setTimeout(r, i * 5)).then(() => request(port))));
        assert.deepEqual(results.filter((r) => r === 'hung'), [], `round ${round}: ${results.join(' ')}`);
        // Only what the dead worker itself held may fail.
        assert.ok(results.filter((r) => r === '200').length >= 8, `round ${round}: ${results.join(' ')}`);
        assert.ok((await requestsTotal(proxy)) >= before, 'counters never go backwards');
        let restarted = false;
        for (let i = 0; i < 100 && !restarted; i++) {
          await new Promise((r) => setTimeout(r, 100));
          const now = JSON.parse((await proxy.get('/bulwark/status')).body) as { workers: Array<{ pid: number; ready: boolean }> };
          restarted = now.workers.every((w) => w.ready && w.pid !== victim);
        }
        assert.ok(restarted, 'the worker was restarted');
        for (let i = 0; i < 4; i++) assert.equal(await request(port), '200');
      }
    } finally {
      await proxy.stop();
      await upstream.close();
    }
  });
}
