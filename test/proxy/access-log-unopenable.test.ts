/**
 * An access log that cannot be opened must not cost a request anything. The log used to be opened at
 * the first finished request, and the error was thrown from there: with the descriptors used up (EMFILE)
 * it killed the proxy, and with a missing directory each request's upstream connection was torn down
 * as if the upstream had misbehaved. Now the log is opened when the config is applied; until it opens,
 * lines are dropped and counted, the failure is logged once, and it is tried again every second.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { alive } from '../support/process-alive.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-log-unopenable-'));
let upstream: TestUpstream;
let upstreamConnections = 0;

before(async () => {
  upstream = await startUpstream('app');
  upstream.server.on('connection', () => upstreamConnections++);
});

after(async () => {
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(port: number, logPath: string): string {
  const hcm = { accessLog: [{ typedConfig: { path: logPath } }] };
  return bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), hcm)], [staticCluster('app', [upstream.port])]);
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function droppedLines(proxy: RunningProxy): Promise<number> {
  const text = (await proxy.get('/stats/prometheus')).body;
  return Number(/^bulwark_access_log_dropped_lines_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

/** One request on a new keep-alive-capable client connection; the status. */
async function status(port: number, path: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  await res.text();
  return res.status;
}

test('a log in a missing directory: requests are served on reused upstream connections, lines are counted as dropped, and the log opens once the directory exists', async () => {
  const port = await freePort();
  const logDir = join(dir, 'not-yet');
  const logPath = join(logDir, 'access.log');
  const proxy = await startProxy(config(port, logPath));
  try {
    // Reported when the config is applied, with the path and the reason, before any request.
    await proxy.waitForLog(/access log cannot be opened.*not-yet\/access\.log.*ENOENT/);
    const connectionsBefore = upstreamConnections;
    for (let i = 0; i < 6; i++) assert.equal(await status(port, `/before-${i}`), 200);
    // The upstream connection is reused: the log's failure is not the upstream's.
    assert.ok(upstreamConnections - connectionsBefore <= 2, `${upstreamConnections - connectionsBefore} upstream connections for 6 sequential requests`);
    assert.ok((await droppedLines(proxy)) >= 6);
    // Once per process, not once per request.
    assert.ok((proxy.logs().match(/access log cannot be opened/g)?.length ?? 0) <= 2, proxy.logs());

    mkdirSync(logDir);
    // Tried again at most a second later, on the next request that has a line to write.
    await until('the log to open', async () => {
      assert.equal(await status(port, '/after'), 200);
      return existsSync(logPath) && readFileSync(logPath, 'utf8').includes('"/after"');
    });
    assert.match(proxy.logs(), /access log opened; lines are written again/);
    assert.ok(alive(proxy.child.pid!));
  } finally {
    await proxy.stop();
  }
});

/** Descriptors the process holds now. */
function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

test('with its file descriptors used up the proxy answers what it can, stays up, and logs again afterwards', { skip: process.platform !== 'linux' && 'uses prlimit and /proc' }, async () => {
  const port = await freePort();
  const logPath = join(dir, 'emfile.log');
  // One process: the descriptor limit is set on that process.
  const proxy = await startProxy(config(port, logPath), { concurrency: 1 });
  const clients: net.Socket[] = [];
  try {
    const pid = proxy.child.pid!;
    // Room for a few connections only; the rest meet EMFILE on accept or on the upstream connect.
    const limit = openDescriptors(pid) + 12;
    execFileSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:${limit}`]);
    const answers = new Map<string, number>();
    await Promise.all(
      Array.from({ length: 40 }, () => {
        const s = net.connect(port, '127.0.0.1');
        clients.push(s);
        s.on('error', () => undefined);
        s.write('GET /crowded HTTP/1.1\r\nhost: app\r\n\r\n');
        return new Promise<void>((resolve) => {
          const done = (what: string) => {
            answers.set(what, (answers.get(what) ?? 0) + 1);
            resolve();
          };
          s.once('data', (d: Buffer) => done(d.toString('latin1', 9, 12)));
          s.once('close', () => done('closed'));
          setTimeout(() => done('waiting'), 1500).unref();
        });
      }),
    );
    assert.ok(alive(pid), `the proxy died under EMFILE:\n${proxy.logs()}`);
    // Whatever was answered was a 200, or a 503 for an upstream connection it had no descriptor for.
    for (const k of answers.keys()) assert.ok(['200', '503', 'closed', 'waiting'].includes(k), `unexpected answer ${k}: ${JSON.stringify([...answers])}`);
    for (const s of clients) s.destroy();
    await until('descriptors to be released', () => openDescriptors(pid) < limit - 4);
    assert.equal(await status(port, '/afterwards'), 200);
    await until('the line of the request afterwards', () => existsSync(logPath) && readFileSync(logPath, 'utf8').includes('"/afterwards"'));
    assert.ok(alive(pid));
  } finally {
    for (const s of clients) s.destroy();
    await proxy.stop();
  }
});
