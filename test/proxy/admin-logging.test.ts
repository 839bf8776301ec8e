/**
 * Envoy's /logging on the admin port, as istioctl proxy-config log calls it: POST lists the loggers,
 * `?level=`, `?NAME=` and `?paths=` change levels, and a change changes what every process logs,
 * a worker started later included. Real curl against a real proxy.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const LOGGERS = ['admin', 'config', 'connection', 'file', 'hc', 'http', 'key_custody', 'main', 'upstream'];
let up: TestUpstream;
let proxy: RunningProxy;
let port: number;
let admin: string;

function config(version: string): string {
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up' } }]);
  // Round-robin: the primary hands connections to each worker in turn, so every worker gets some.
  const listener = { ...(httpListener('ingress', port, routes) as Record<string, unknown>), connectionBalanceConfig: { balancer: 'round-robin' } };
  return bootstrap([listener], [staticCluster('up', [up.port], { connectTimeout: version })]);
}

function listing(levels: Record<string, string>): string {
  return `active loggers:\n${LOGGERS.map((n) => `  ${n}: ${levels[n] ?? 'info'}\n`).join('')}\n`;
}

async function logging(query: string): Promise<{ status: number; body: string }> {
  return curl(['-X', 'POST', `${admin}/logging${query}`]);
}

/** The pids that serve connections: the workers, or the proxy itself with one process. */
async function servingPids(): Promise<number[]> {
  const status = JSON.parse((await curl([`${admin}/bulwark/status`])).body) as { workers: number | Array<{ pid: number; ready: boolean }> };
  return typeof status.workers === 'number' ? [proxy.child.pid!] : status.workers.map((w) => w.pid);
}

/** Pids that logged a "new connection" line among `lines`. */
function connectionLoggers(lines: string): Set<number> {
  const pids = new Set<number>();
  for (const line of lines.split('\n')) if (line.includes('"msg":"new connection"')) pids.add((JSON.parse(line) as { pid: number }).pid);
  return pids;
}

async function requests(n: number): Promise<void> {
  for (let i = 0; i < n; i++) assert.equal((await curl([`http://127.0.0.1:${port}/`, '-H', 'connection: close'])).status, 200);
}

before(async () => {
  up = await startUpstream('up');
  port = await freePort();
  proxy = await startProxy(config('1s'));
  admin = `http://127.0.0.1:${proxy.adminPort}`;
});

after(async () => {
  await proxy?.stop();
  await up?.close();
});

test('POST /logging lists every logger at its level; GET gets Envoy\'s 405', async () => {
  const r = await logging('');
  assert.equal(r.status, 200);
  assert.equal(r.body, listing({}));
  const get = await curl([`${admin}/logging`]);
  assert.equal(get.status, 405);
  assert.equal(get.body, 'Method GET not allowed, POST required.');
});

test('a refused change gets 400 with Envoy\'s error and usage, and changes nothing', async () => {
  const usage =
    'usage: /logging?<name>=<level> (change single level)\n' +
    'usage: /logging?paths=name1:level1,name2:level2,... (change multiple levels)\n' +
    'usage: /logging?level=<level> (change all levels)\n' +
    'levels: trace debug info warning error critical off \n';
  for (const [query, error] of [
    ['?level=loud', 'unknown logger level'],
    ['?no_such_logger=debug', 'unknown logger name'],
    ['?main=debug&upstream=debug', 'invalid number of parameters'],
    ['?paths=main:debug,upstream', 'empty logger name or empty logger level'],
  ] as const) {
    const r = await logging(query);
    assert.equal(r.status, 400, query);
    assert.equal(r.body, `error: ${error}\n\n${usage}${listing({})}`, query);
  }
});

test('?NAME= and ?paths= set single loggers; ?level= sets them all', async () => {
  assert.equal((await logging('?upstream=warning')).body, listing({ upstream: 'warning' }));
  assert.equal((await logging('?paths=hc:error,admin:trace')).body, listing({ upstream: 'warning', hc: 'error', admin: 'trace' }));
  assert.equal((await logging('?level=info')).body, listing({}));
});

test('a level change changes what every process logs, and a worker started later takes it', async () => {
  const pids = await servingPids();
  let mark = proxy.logs().length;
  await requests(2 * pids.length);
  assert.deepEqual([...connectionLoggers(proxy.logs().slice(mark))], [], 'debug lines are not written at info');

  assert.equal((await logging('?connection=debug')).status, 200);
  mark = proxy.logs().length;
  await requests(2 * pids.length);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual([...connectionLoggers(proxy.logs().slice(mark))].sort(), [...pids].sort(), 'every process logs its connections at debug');

  if (pids.length > 1) {
    process.kill(pids[0]!, 'SIGKILL');
    let now = pids;
    for (let i = 0; i < 100 && (now.includes(pids[0]!) || now.length < pids.length); i++) {
      await new Promise((r) => setTimeout(r, 100));
      now = await servingPids();
    }
    const fresh = now.find((p) => !pids.includes(p))!;
    assert.ok(fresh !== undefined, 'the killed worker was replaced');
    await new Promise((r) => setTimeout(r, 300));
    mark = proxy.logs().length;
    await requests(2 * now.length);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(connectionLoggers(proxy.logs().slice(mark)).has(fresh), 'the replacement logs at debug too');
  }

  assert.equal((await logging('?level=error')).status, 200);
  mark = proxy.logs().length;
  await requests(2 * pids.length);
  proxy.reload(config('2s'));
  // An info line (config applied) is not written at error; an error line (a refused reload) is.
  await new Promise((r) => setTimeout(r, 1500));
  proxy.reload('staticResources: [');
  await proxy.waitForLog(/config reload rejected/);
  const since = proxy.logs().slice(mark);
  assert.deepEqual([...connectionLoggers(since)], []);
  assert.doesNotMatch(since, /"msg":"config applied"/);
  assert.equal(JSON.parse((await curl([`${admin}/bulwark/status`])).body).version, 'static-2', 'the reload applied, unlogged');
  assert.equal((await logging('?level=info')).status, 200);
});
