/**
 * Log rotation: logrotate (or an operator) moves the access log away and asks the proxy to reopen
 * it, with SIGUSR1 or POST /reopen_logs as Envoy takes it. Lines before go to the moved file, lines
 * after to a new file at the configured path, in every worker.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FdSink } from '../../src/telemetry/chunk-sink.js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy } from '../support/proxy-process.js';
import { startUpstream } from '../support/upstream.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-rotation-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(sink: FdSink, text: string): Promise<void> {
  return new Promise((resolve, reject) => sink.write(Buffer.from(text), (err) => (err ? reject(err) : resolve())));
}

test('a file sink reopens its path: earlier bytes stay in the moved file, later ones start a new file', async () => {
  const path = join(dir, 'sink.log');
  const sink = FdSink.open(path);
  await write(sink, 'one\n');
  renameSync(path, `${path}.1`);
  await write(sink, 'two\n');
  sink.reopen();
  await write(sink, 'three\n');
  // A reopen while a batch is in flight: the batch ends in the file it started in.
  const inFlight = write(sink, 'four\n');
  renameSync(path, `${path}.2`);
  sink.reopen();
  await inFlight;
  await write(sink, 'five\n');
  sink.close();
  assert.equal(readFileSync(`${path}.1`, 'utf8'), 'one\ntwo\n');
  assert.equal(readFileSync(`${path}.2`, 'utf8'), 'three\nfour\n');
  assert.equal(readFileSync(path, 'utf8'), 'five\n');
});

/** The file's text once it holds `count` lines with `tag` (each worker flushes on its own timer), or after 5 s. */
async function waitForLines(path: string, tag: string, count: number): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (linesWith(text, tag) >= count || Date.now() > deadline) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function linesWith(text: string, tag: string): number {
  return text.split('\n').filter((l) => l.includes(`/${tag}/`)).length;
}

for (const concurrency of [1, 2]) {
  test(`the proxy reopens its access log on SIGUSR1 and on POST /reopen_logs (${concurrency} worker${concurrency > 1 ? 's' : ''})`, async () => {
    const upstream = await startUpstream('u');
    const port = await freePort();
    const log = join(dir, `access-${concurrency}.log`);
    const proxy = await startProxy(
      bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'u' } }]), { accessLog: [{ typedConfig: { path: log } }] })], [staticCluster('u', [upstream.port])]),
      { concurrency },
    );
    try {
      const requests = concurrency * 4;
      const send = async (tag: string): Promise<void> => {
        for (let i = 0; i < requests; i++) assert.equal((await curl([`http://127.0.0.1:${port}/${tag}/${i}`])).status, 200);
      };
      await send('before');
      // Every worker has written its lines before the file moves.
      assert.equal(linesWith(await waitForLines(log, 'before', requests), 'before'), requests);
      renameSync(log, `${log}.1`);
      proxy.child.kill('SIGUSR1');
      // The primary passes the request on to each worker over IPC.
      await new Promise((r) => setTimeout(r, 1000));
      await send('after-signal');
      const second = await waitForLines(log, 'after-signal', requests);
      assert.equal(linesWith(second, 'after-signal'), requests, 'every worker writes to the new file');
      assert.equal(linesWith(second, 'before'), 0);
      assert.equal(linesWith(readFileSync(`${log}.1`, 'utf8'), 'before'), requests);
      renameSync(log, `${log}.2`);
      const res = await fetch(`http://127.0.0.1:${proxy.adminPort}/reopen_logs`, { method: 'POST' });
      assert.equal(res.status, 200);
      // The primary passes the request on to each worker over IPC.
      await new Promise((r) => setTimeout(r, 1000));
      await send('after-admin');
      assert.equal(linesWith(await waitForLines(log, 'after-admin', requests), 'after-admin'), requests);
    } finally {
      await proxy.stop();
      await upstream.close();
    }
  });
}
