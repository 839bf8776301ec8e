/**
 * With worker processes, every scrape asks each worker for a report, which its event loop (the data
 * path) spends time on. Scrapes that arrive together share one round of reports, so a burst of them
 * costs the workers about what a few scrapes cost, and each still gets the whole answer.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy } from '../support/proxy-process.js';
import { startUpstream } from '../support/upstream.js';

const SCRAPES = 400;

/** CPU time (user + system, ms) a process has used, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

test('--concurrency 2: a burst of concurrent scrapes costs the workers a fraction of as many scrapes one after another', async () => {
  const up = await startUpstream('up');
  const port = await freePort();
  // Many clusters: a worker's report has many series, as a sidecar's does.
  const clusters = Array.from({ length: 40 }, (_, i) => staticCluster(`c${i}`, [up.port]));
  const proxy = await startProxy(bootstrap([httpListener('ingress', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'c0' } }]))], clusters), { concurrency: 2 });
  try {
    assert.equal((await curl([`http://127.0.0.1:${port}/`])).status, 200);
    const pids = (JSON.parse((await proxy.get('/bulwark/status')).body) as { workers: Array<{ pid: number }> }).workers.map((w) => w.pid);
    const workersCpu = (): number => pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
    const scrape = async (): Promise<string> => {
      const r = await fetch(`http://127.0.0.1:${proxy.adminPort}/stats/prometheus`);
      assert.equal(r.status, 200);
      return r.text();
    };

    let before = workersCpu();
    for (let i = 0; i < SCRAPES; i++) await scrape();
    const oneByOne = workersCpu() - before;

    before = workersCpu();
    const pages = await Promise.all(Array.from({ length: SCRAPES }, scrape));
    const together = workersCpu() - before;

    for (const page of pages) assert.match(page, /istio_requests_total\{[^}]*response_code="200"[^}]*\} 1$/m);
    assert.ok(oneByOne >= 50, `${SCRAPES} scrapes one by one cost the workers only ${oneByOne} ms: too little to compare`);
    assert.ok(together < oneByOne / 4, `workers spent ${together} ms on ${SCRAPES} concurrent scrapes, ${oneByOne} ms on as many one by one`);
  } finally {
    await proxy.stop();
    await up.close();
  }
});
