/**
 * What the primary's admin says while workers change: /bulwark/status names a version only once every
 * worker serves it, and /ready stays LIVE (Envoy's meaning: started, not draining) through a reload
 * and while one worker is replaced.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let a: TestUpstream;
let b: TestUpstream;
let port: number;
let proxy: RunningProxy;

const config = (cluster: string): string =>
  bootstrap([httpListener('main', port, routeConfig([{ match: { prefix: '/' }, route: { cluster } }]))], [staticCluster('a', [a.port]), staticCluster('b', [b.port])]);

interface Dump {
  version: string;
  workers: Array<{ pid: number; ready: boolean; version: string }>;
}
const dump = async (): Promise<Dump> => JSON.parse((await proxy.get('/bulwark/status')).body) as Dump;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function upstreamOf(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
  return (JSON.parse(await res.text()) as { upstream: string }).upstream;
}

before(async () => {
  a = await startUpstream('a');
  b = await startUpstream('b');
  port = await freePort();
  proxy = await startProxy(config('a'), { concurrency: 2 });
});

after(async () => {
  await proxy?.stop();
  await a?.close();
  await b?.close();
});

test('a reload shows in /bulwark/status only once both workers run it, and /ready stays 200 meanwhile', async () => {
  const first = await dump();
  const slowWorker = first.workers[1]!.pid;
  // A worker that cannot answer yet (stopped): the other one takes the new config at once.
  process.kill(slowWorker, 'SIGSTOP');
  try {
    proxy.reload(config('b'));
    for (let i = 0; i < 100 && (await dump()).workers[0]!.version === first.version; i++) await sleep(20);
    const mid = await dump();
    assert.notEqual(mid.workers[0]!.version, first.version, 'the running worker took the reload');
    assert.equal(mid.version, first.version, 'not reported while a worker still runs the old one');
    assert.equal((await proxy.get('/ready')).status, 200, 'a reload does not make the proxy unready');
  } finally {
    process.kill(slowWorker, 'SIGCONT');
  }
  let last = await dump();
  for (let i = 0; i < 100 && last.version === first.version; i++) {
    await sleep(20);
    last = await dump();
  }
  assert.notEqual(last.version, first.version);
  assert.deepEqual(last.workers.map((w) => w.version), [last.version, last.version]);
  for (let i = 0; i < 4; i++) assert.equal(await upstreamOf(), 'b');
});

test('/ready stays 200 while a SIGKILLed worker is replaced and the other serves', async () => {
  const first = await dump();
  const victim = first.workers[0]!.pid;
  process.kill(victim, 'SIGKILL');
  let replaced = false;
  for (let i = 0; i < 100 && !replaced; i++) {
    assert.equal((await proxy.get('/ready')).status, 200, `poll ${i}`);
    assert.equal(await upstreamOf(), 'b', `poll ${i}`);
    const now = await dump();
    replaced = now.workers.every((w) => w.ready && w.pid !== victim && w.version === first.version);
    await sleep(30);
  }
  assert.ok(replaced, 'the worker was restarted on the current config');
});
