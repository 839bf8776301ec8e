/**
 * Two workers logging to one pipe (/dev/stdout, as Istio configures its access log, read by the
 * container runtime): every line arrives whole even when the reader falls behind. A pipe keeps a
 * write whole only up to PIPE_BUF bytes; a larger batch can be cut by the other worker's writes
 * once the pipe is full.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy } from '../support/proxy-process.js';
import { startUpstream } from '../support/upstream.js';

const REQUESTS = 3000;
const ROUNDS = 6;

test('two workers logging to /dev/stdout: every line whole while the reader lags', async () => {
  const upstream = await startUpstream('a');
  const port = await freePort();
  const accessLog = [{ name: 'envoy.access_loggers.file', typedConfig: { path: '/dev/stdout' } }];
  const proxy = await startProxy(bootstrap([httpListener('main', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'a' } }]), { accessLog })], [staticCluster('a', [upstream.port])]), {
    concurrency: 2,
  });
  try {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const long = 'x'.repeat(1500);
    let next = 0;
    const one = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path: `/r${next++}/${long}`, agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
      });
    // Rounds in which the reader stops, so the pipe fills and both workers' writes wait on it together.
    for (let round = 1; round <= ROUNDS; round++) {
      proxy.child.stdout!.pause();
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < (REQUESTS * round) / ROUNDS) await one();
        }),
      );
      // Past the workers' batch interval, so both have a batch waiting on the full pipe.
      await new Promise((r) => setTimeout(r, 300));
      proxy.child.stdout!.resume();
      await new Promise((r) => setTimeout(r, 100));
    }
    agent.destroy();
    proxy.child.stdout!.resume();
    assert.equal(await proxy.stop('SIGTERM'), 0);
    const lines = proxy.stdout().split('\n');
    assert.equal(lines.pop(), '', 'the output ends with a whole line');
    const torn = lines.filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
    assert.deepEqual(torn.slice(0, 2), [], `${torn.length} torn lines of ${lines.length}`);
    assert.ok(lines.length >= REQUESTS, `${lines.length} lines for ${REQUESTS} requests`);
  } finally {
    await upstream.close();
  }
});
