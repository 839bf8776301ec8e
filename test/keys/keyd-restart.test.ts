import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { curl } from '../support/curl.js';
import type { RunningProxy } from '../support/proxy-process.js';
import { startCustodyGateway, startKeyd, type CustodyGateway } from './keyd-fixture.js';

let custody: CustodyGateway;
let gateway: RunningProxy;
let port: number;

before(async () => {
  custody = await startCustodyGateway({ concurrency: 2 });
  ({ gateway, port } = custody);
});

after(async () => {
  await custody?.stop();
});

/** A fresh connection (a full handshake) per call. */
async function handshakeOk(): Promise<boolean> {
  return curl(['-k', '--resolve', `gateway.test:${port}:127.0.0.1`, `https://gateway.test:${port}/`], 4000).then(
    (r) => r.status === 200,
    () => false,
  );
}

async function keydGauge(): Promise<number[]> {
  const m = (await gateway.get('/stats/prometheus')).body;
  return [...m.matchAll(/^bulwark_keyd_available(?:\{[^}]*\})? (\d+)/gm)].map((x) => Number(x[1]));
}

test('keyd killed and restarted during traffic: handshakes fail closed, then resume without restarting the proxy', { timeout: 120_000 }, async () => {
  for (let i = 0; i < 5; i++) assert.equal(await handshakeOk(), true, 'serving before the outage');
  const gatewayPid = gateway.child.pid;

  // Kill the whole custody side at once: keyd, its p11-kit server and the per-client remotes (one process group).
  const serverPid = Number(readFileSync(join(custody.state, 'keyd', 'p11-kit-server.pid'), 'utf8'));
  await custody.keyd.stop('SIGKILL');
  process.kill(-serverPid, 'SIGKILL');
  await sleep(200);
  let failed = 0;
  for (let i = 0; i < 6; i++) if (!(await handshakeOk())) failed++;
  assert.equal(failed, 6, 'no handshake succeeds without keyd (fail closed, no fallback key)');
  await gateway.waitForLog(/key custody lost|key custody \(keyd\) unavailable/, 10_000);
  assert.ok((await keydGauge()).includes(0), 'bulwark_keyd_available reports the outage');

  custody.keyd = await startKeyd(custody.state);
  const deadline = Date.now() + 60_000;
  let ok = false;
  while (!ok && Date.now() < deadline) {
    ok = await handshakeOk();
    if (!ok) await sleep(250);
  }
  assert.ok(ok, `handshakes resume after keyd returns\n${gateway.logs().slice(-2500)}`);
  // Every worker recovers, not just one: a run of fresh handshakes all succeed.
  await gateway.waitForLog(/keyd answers again/, 10_000);
  await sleep(3000);
  for (let i = 0; i < 10; i++) assert.equal(await handshakeOk(), true, `handshake ${i} after recovery`);
  assert.equal(gateway.child.pid, gatewayPid, 'the same proxy process');
  assert.equal(gateway.child.exitCode, null);
});
