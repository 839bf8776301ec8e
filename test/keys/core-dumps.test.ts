/**
 * A crash of a process that holds custody state writes no core file: keyd, its p11-kit server and the
 * p11-kit-remote that signs for a proxy (decrypted keys while signing), the proxy's primary and workers
 * (the PIN their engine logged in with), the CA agent (the token module in-process). The test raises its
 * own soft core limit first, as a host with core dumps enabled has it, so every child would inherit it.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { REPO_ROOT } from '../support/proxy-process.js';
import { CLI } from '../support/cli-entry.js';
import { curl } from '../support/curl.js';
import { bulwark, custodyRemoteOf, startCustodyGateway, type CustodyGateway } from './keyd-fixture.js';
import { processTree } from './secret-scan.js';

/** The soft and hard core file size limits of a process ("unlimited" or bytes). */
function coreLimits(pid: number): { soft: string; hard: string } {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max core file size'))!;
  const [soft, hard] = line.slice('Max core file size'.length).trim().split(/\s+/);
  return { soft: soft!, hard: hard! };
}

function commandOf(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim().slice(0, 100);
}

let gw: CustodyGateway;
let agent: ChildProcess;

before(async () => {
  const own = coreLimits(process.pid);
  execFileSync('prlimit', ['--pid', String(process.pid), `--core=${own.hard}:`]);
  assert.notEqual(coreLimits(process.pid).soft, '0', 'this host lets a process enable core dumps, so the children would inherit them');
  gw = await startCustodyGateway({ concurrency: 2 });
  bulwark(['ca', 'init', '--trust-domain', 'cluster.local', '--state-dir', gw.state]);
  agent = spawn(process.execPath, [...CLI, 'ca', 'agent', '--identity', 'shop/orders', '--state-dir', gw.state], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    agent.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('svid issued')) resolve();
    });
    agent.once('exit', (code) => reject(new Error(`ca agent exited with ${code}: ${out}`)));
  });
});

after(async () => {
  agent?.kill('SIGTERM');
  await gw?.stop();
});

test('keyd, its p11-kit processes, the proxy primary and workers and the CA agent run with core dumps off', async () => {
  const r = await curl(['-k', '--resolve', `gateway.test:${gw.port}:127.0.0.1`, `https://gateway.test:${gw.port}/`]);
  assert.equal(r.status, 200, r.body);
  const proxyPids = processTree(gw.gateway.child.pid!);
  const remotes = proxyPids.flatMap((pid) => {
    try {
      return [custodyRemoteOf(pid)];
    } catch {
      return [];
    }
  });
  assert.ok(remotes.length >= 1, 'a p11-kit-remote signs for the proxy');
  const serverPid = Number(readFileSync(`${gw.state}/keyd/p11-kit-server.pid`, 'utf8'));
  // tsx's esbuild service (tests that run the source) starts before the CLI's code and only transpiles.
  const pids = [...processTree(gw.keyd.child.pid!), serverPid, ...remotes, ...proxyPids, ...processTree(agent.pid!)].filter((pid) => !commandOf(pid).includes('/esbuild '));
  assert.ok(proxyPids.length >= 3, 'the proxy runs a primary and two workers');
  const dumping = [...new Set(pids)].map((pid) => ({ pid, command: commandOf(pid), ...coreLimits(pid) })).filter((p) => p.soft !== '0' || p.hard !== '0');
  assert.deepEqual(dumping, []);
});
