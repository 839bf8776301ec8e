/**
 * A worker's first key load can meet another process's login: SoftHSM2 rewrites a token's file on
 * each login, and a worker that reads it mid-rewrite sees that token as uninitialized. The pkcs11
 * engine keeps what it saw, so every retry in that process fails. The proxy replaces such a worker
 * with a fresh process instead of leaving it idle (and refusing every later reload).
 */
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { address, bootstrap, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { bulwark, newStateDir, selfSignedInCustody, startKeyd, tokenStateFile, writeTemp, type RunningKeyd, custodySniChain } from './keyd-fixture.js';

let state: string;
let keyd: RunningKeyd;
let app: TestUpstream;
let gateway: RunningProxy;
let port: number;
const hosts = ['alphakey', 'bravokey'];
const certs: Record<string, string> = {};

before(async () => {
  state = newStateDir();
  for (const h of hosts) bulwark(['keys', 'generate', '--label', h, '--state-dir', state]);
  keyd = await startKeyd(state);
  for (const h of hosts) certs[h] = selfSignedInCustody(state, h, h, `DNS:${h}.example.test`);
  app = await startUpstream('app');
  port = await freePort();
  const listener = { name: 'gateway', address: address(port), filterChains: hosts.map((h) => custodySniChain([`${h}.example.test`], certs[h]!, h, 'app')) };
  gateway = await startProxy(bootstrap([listener], [staticCluster('app', [app.port])]), { concurrency: 2, extraArgs: ['--keyd', state] });
});

after(async () => {
  await gateway?.stop();
  await app?.close();
  await keyd?.stop();
});

interface WorkerView {
  index: number;
  pid: number;
  ready: boolean;
  version: string;
  lastError?: string;
}

async function workers(): Promise<WorkerView[]> {
  return (JSON.parse((await gateway.get('/bulwark/status')).body) as { workers: WorkerView[] }).workers;
}

async function handshakeOk(host: string): Promise<boolean> {
  const name = `${host}.example.test`;
  return curl(['-k', '--resolve', `${name}:${port}:127.0.0.1`, `https://${name}:${port}/`], 4000).then(
    (r) => r.status === 200,
    () => false,
  );
}

test('a restarted worker whose engine saw a token mid-rewrite is replaced by a fresh process and serves', { timeout: 120_000 }, async () => {
  const before = await workers();
  assert.equal(before.filter((w) => w.ready).length, 2);
  const victim = before[1]!;

  // The second token's file reads as garbage while the restarted worker loads its keys, as in a
  // collision with another process's login; it is whole again once the worker has seen it broken.
  const tokenFile = tokenStateFile(state, 'bravokey');
  const whole = writeTemp('token.object', '');
  copyFileSync(tokenFile, whole);
  writeFileSync(tokenFile, '');
  const logsBefore = gateway.logs().length;
  const killedAt = Date.now();
  process.kill(victim.pid, 'SIGKILL');
  try {
    await gateway.waitForLog(/key custody failed to load a key; trying again/, 15_000);
  } finally {
    copyFileSync(whole, tokenFile);
  }

  const deadline = Date.now() + 45_000;
  let now = await workers();
  while (Date.now() < deadline && !now.every((w) => w.ready && w.version !== '')) {
    await sleep(250);
    now = await workers();
  }
  const logs = gateway.logs().slice(logsBefore);
  console.log(`worker serving again ${Date.now() - killedAt} ms after it was killed`);
  assert.ok(now.every((w) => w.ready), `every worker serves again\n${JSON.stringify(now)}\n${logs.slice(-3000)}`);
  assert.match(logs, /cannot load its keys through keyd; replacing it with a fresh process/);
  assert.equal(now[0]!.pid, before[0]!.pid, 'the worker that kept serving was left alone');

  // Both keys sign in both workers: a run of fresh handshakes (the kernel spreads them) all succeed.
  for (let i = 0; i < 8; i++) for (const h of hosts) assert.equal(await handshakeOk(h), true, `${h} handshake ${i}`);
  const metrics = (await gateway.get('/stats/prometheus')).body;
  assert.match(metrics, /^bulwark_worker_replacements_total\{reason="key_load"\} [1-9]/m);
});
