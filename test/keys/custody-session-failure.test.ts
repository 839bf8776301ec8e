/**
 * A custody failure while keyd answers is not an outage. Here the p11-kit-remote process that serves
 * one worker's keyd connection is killed: keyd's socket answers throughout, that worker's PKCS#11
 * session is gone for good, the other worker's is fine. Only the broken worker is replaced, after a
 * few failed handshakes in a row; the other keeps its process and its connections.
 */
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { curl } from '../support/curl.js';
import type { RunningProxy } from '../support/proxy-process.js';
import { SESSION_BROKEN_AFTER } from '../../src/proxy/tls/key-custody-health.js';
import { custodyRemoteOf, startCustodyGateway, type CustodyGateway } from './keyd-fixture.js';

let custody: CustodyGateway;
let gateway: RunningProxy;
let port: number;

before(async () => {
  custody = await startCustodyGateway({ concurrency: 2, listener: { connectionBalanceConfig: { exactBalance: {} } } });
  ({ gateway, port } = custody);
});

after(async () => {
  await custody?.stop();
});

interface WorkerView {
  index: number;
  pid: number;
  ready: boolean;
  activeConnections: number;
}

async function workers(): Promise<WorkerView[]> {
  return (JSON.parse((await gateway.get('/bulwark/status')).body) as { workers: WorkerView[] }).workers;
}

/** A fresh connection (a full handshake) per call. */
async function handshakeOk(): Promise<boolean> {
  return curl(['-k', '--resolve', `gateway.test:${port}:127.0.0.1`, `https://gateway.test:${port}/`], 4000).then(
    (r) => r.status === 200,
    () => false,
  );
}

/** A kept-alive HTTPS connection: each request() answers with the response status, or 0 once the connection is gone. */
async function keptAlive(): Promise<{ request(): Promise<number> }> {
  const socket = tls.connect({ port, host: '127.0.0.1', servername: 'gateway.test', rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  let closed = false;
  socket.on('close', () => (closed = true)).on('error', () => undefined);
  return {
    request() {
      if (closed) return Promise.resolve(0);
      return new Promise((resolve) => {
        let got = '';
        const done = (status: number): void => {
          socket.off('data', onData);
          clearTimeout(timer);
          resolve(status);
        };
        const onData = (d: Buffer): void => {
          got += d.toString('latin1');
          const head = got.indexOf('\r\n\r\n');
          if (head < 0) return;
          const length = /\r\ncontent-length: *(\d+)/i.exec(got.slice(0, head));
          const complete = length ? got.length >= head + 4 + Number(length[1]) : got.endsWith('0\r\n\r\n');
          if (complete) done(Number(/^HTTP\/1\.1 (\d+)/.exec(got)?.[1] ?? 0));
        };
        const timer = setTimeout(() => done(-1), 5_000);
        socket.on('data', onData).once('close', () => done(0));
        socket.write('GET / HTTP/1.1\r\nhost: gateway.test\r\n\r\n');
      });
    },
  };
}

async function metrics(): Promise<string> {
  return (await gateway.get('/stats/prometheus')).body;
}

function sumOf(text: string, series: RegExp): number {
  return [...text.matchAll(series)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function untilEach(pred: (ws: WorkerView[]) => boolean, what: string): Promise<WorkerView[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const ws = await workers();
    if (pred(ws)) return ws;
    if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(ws)}`);
    await sleep(50);
  }
}

test("one worker's broken keyd session replaces that worker alone; the other keeps its process and connections", { timeout: 120_000 }, async () => {
  // One kept-alive connection on each worker.
  const first = await keptAlive();
  assert.equal(await first.request(), 200);
  const firstOn = (await untilEach((ws) => ws.some((w) => w.activeConnections === 1), 'first connection counted')).find((w) => w.activeConnections === 1)!.index;
  const second = await keptAlive();
  assert.equal(await second.request(), 200);
  const before = await untilEach((ws) => ws.every((w) => w.activeConnections === 1), 'a connection on each worker');
  const onHealthy = firstOn === 0 ? first : second;
  const onBroken = firstOn === 1 ? first : second;

  const logsBefore = gateway.logs().length;
  process.kill(custodyRemoteOf(before[1]!.pid), 'SIGKILL');

  let failed = 0;
  let sawOneFailure = false;
  let now = before;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && now[1]!.pid === before[1]!.pid) {
    if (!(await handshakeOk())) failed++;
    await sleep(100);
    now = await workers();
    if (failed === 1 && !sawOneFailure) {
      sawOneFailure = true;
      // A single failure fails its handshake only: no worker goes.
      assert.deepEqual(now.map((w) => w.pid), before.map((w) => w.pid), 'no worker replaced after one failure');
    }
  }
  assert.ok(sawOneFailure, 'the first failure was seen on its own');
  assert.notEqual(now[1]!.pid, before[1]!.pid, `the worker whose session broke was replaced\n${gateway.logs().slice(logsBefore).slice(-3000)}`);

  const recovered = await untilEach((ws) => ws.every((w) => w.ready), 'both workers serve');
  assert.equal(recovered[0]!.pid, before[0]!.pid, 'the healthy worker kept its process');
  assert.equal(await onHealthy.request(), 200, "the healthy worker's connection still serves");
  assert.equal(await onBroken.request(), 0, "the broken worker's connection ended with its drain");
  for (let i = 0; i < 10; i++) assert.equal(await handshakeOk(), true, `handshake ${i} after the replacement`);

  const logs = gateway.logs().slice(logsBefore);
  assert.match(logs, /key custody failed a handshake while keyd answers: the handshake failed closed, the worker keeps serving/);
  assert.match(logs, /PKCS#11 session is broken while keyd answers: replacing that worker/);
  assert.doesNotMatch(logs, /key custody lost|keyd answers again/, 'not taken for a keyd outage');
  const text = await metrics();
  assert.match(text, /^bulwark_worker_replacements_total\{reason="custody_session"\} 1$/m);
  assert.match(text, /^bulwark_worker_replacements_total\{reason="custody_outage"\} 0$/m);
  const signingFailures = sumOf(text, /^bulwark_keyd_signing_failures_total\{worker="\d+"\} (\d+)/gm);
  assert.ok(signingFailures >= SESSION_BROKEN_AFTER, `signing failures counted, also the replaced worker's (${signingFailures})`);
  console.log(`handshakes failed before the replacement: ${failed}; signing failures counted: ${signingFailures}`);
});
