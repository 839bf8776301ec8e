/**
 * A reload that renames or drops an access log closes the old one: the proxy kept every access log
 * it had ever opened (its file descriptor and about 260 KiB of batch buffers) for the life of the
 * process, so a config churning log paths or listeners grew by that much per reload.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-log-reload-'));
let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;

function config(logName: string): string {
  const hcm = { accessLog: [{ typedConfig: { path: join(dir, logName) } }] };
  return bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), hcm)], [staticCluster('app', [upstream.port])]);
}

before(async () => {
  upstream = await startUpstream('app');
  port = await freePort();
  // One process: the test reads that process's open files.
  proxy = await startProxy(config('log-0.log'), { concurrency: 1 });
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The files of `dir` the proxy process holds open. */
function openLogs(): string[] {
  const fdDir = `/proc/${proxy.child.pid}/fd`;
  const out: string[] = [];
  for (const fd of readdirSync(fdDir)) {
    try {
      const target = readlinkSync(join(fdDir, fd));
      if (target.startsWith(dir)) out.push(target.slice(dir.length + 1));
    } catch {
      // closed while listed
    }
  }
  return out.sort();
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${proxy.logs()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const applied = (): number => proxy.logs().split('\n').filter((l) => l.includes('"config applied"')).length;

test('a reload closes the access logs the new config no longer names, after writing what they held', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const rounds = 6;
  for (let i = 0; i < rounds; i++) {
    const log = `log-${i}.log`;
    if (i > 0) {
      const before = applied();
      proxy.reload(config(log));
      await until('the reload', () => applied() > before);
    }
    const res = await fetch(`http://127.0.0.1:${port}/round-${i}`);
    await res.text();
    assert.equal(res.status, 200);
    // The line is written within the flush interval (200 ms).
    await until(`the line in ${log}`, () => existsSync(join(dir, log)) && readFileSync(join(dir, log), 'utf8').includes(`/round-${i}`));
  }
  // Only the current config's log stays open; each earlier one has its own line and nothing else.
  await until('the retired logs to close', () => openLogs().length === 1);
  assert.deepEqual(openLogs(), [`log-${rounds - 1}.log`]);
  for (let i = 0; i < rounds; i++) {
    const lines = readFileSync(join(dir, `log-${i}.log`), 'utf8').trim().split('\n');
    assert.equal(lines.length, 1, `log-${i}.log: ${lines.join('\n')}`);
    assert.match(lines[0]!, new RegExp(`/round-${i}`));
  }
});
