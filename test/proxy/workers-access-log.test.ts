/**
 * Access log lines with two workers appending to one file: exactly one whole line per request, none
 * torn or lost, including the lines of the last requests before a shutdown (they wait in a batch).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy } from '../support/proxy-process.js';
import { startUpstream } from '../support/upstream.js';

const N = 40;

for (const concurrency of [2, 1]) {
  test(`--concurrency ${concurrency}: one access log line per request, all written before the proxy exits`, async () => {
    const upstream = await startUpstream('a');
    const port = await freePort();
    const path = join(mkdtempSync(join(tmpdir(), 'bulwark-al-')), 'access.log');
    const accessLog = [{ name: 'envoy.access_loggers.file', typedConfig: { path } }];
    const proxy = await startProxy(bootstrap([httpListener('main', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'a' } }]), { accessLog })], [staticCluster('a', [upstream.port])]), {
      concurrency,
    });
    try {
      // A fresh connection each, several at once: the kernel spreads them over both workers.
      const sent: string[] = [];
      for (let i = 0; i < N; i += 8) {
        const batch = Array.from({ length: Math.min(8, N - i) }, (_, j) => `/req-${i + j}`);
        sent.push(...batch);
        const statuses = await Promise.all(batch.map((p) => fetch(`http://127.0.0.1:${port}${p}`, { headers: { connection: 'close' } }).then(async (r) => (await r.text(), r.status))));
        assert.deepEqual(statuses, batch.map(() => 200));
      }
      // At once: the last lines are still batched in the workers.
      assert.equal(await proxy.stop('SIGTERM'), 0);
      const lines = readFileSync(path, 'utf8').split('\n');
      assert.equal(lines.pop(), '', 'the file ends with a whole line');
      const paths = lines.map((l) => (JSON.parse(l) as { path: string }).path);
      assert.deepEqual([...paths].sort(), [...sent].sort());
    } finally {
      await proxy.stop();
      await upstream.close();
    }
  });
}
