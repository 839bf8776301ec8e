/**
 * The admin API as Envoy's tools and operators call it (pilot-agent's readiness probe, curl by hand):
 * methods, unknown paths, /ready's states, /healthcheck/fail and /server_info, with real curl.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { rawExchange } from '../support/raw-http.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let up: TestUpstream;
let proxy: RunningProxy;
let port: number;
let admin: string;

before(async () => {
  up = await startUpstream('up');
  port = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up' } }]);
  proxy = await startProxy(bootstrap([httpListener('ingress', port, routes)], [staticCluster('up', [up.port])]), { extraArgs: ['--drain-time', '7'] });
  admin = `http://127.0.0.1:${proxy.adminPort}`;
});

after(async () => {
  await proxy?.stop();
  await up?.close();
});

test('a mutating endpoint asked with GET gets Envoy\'s 405 and does nothing', async () => {
  for (const path of ['/quitquitquit', '/healthcheck/fail', '/healthcheck/ok', '/reopen_logs', '/logging', '/reset_counters']) {
    const r = await curl([`${admin}${path}`]);
    assert.equal(r.status, 405, path);
    assert.equal(r.body, 'Method GET not allowed, POST required.', path);
  }
  assert.equal((await curl([`${admin}/ready`])).status, 200, 'a GET /healthcheck/fail left the proxy LIVE');
});

test('an unknown admin path gets Envoy\'s 404 page listing the admin commands', async () => {
  const r = await curl([`${admin}/nope?x=1`]);
  assert.equal(r.status, 404);
  assert.match(r.body, /^invalid path\. admin commands are:\n/);
  assert.match(r.body, /\n {2}\/ready: print server state, return 200 if LIVE, otherwise return 503\n/);
  assert.match(r.body, /\n {2}\/stats\/prometheus: /);
  assert.match(r.body, /\n {2}\/logging: query\/change logging levels\n {2}\/memory: /, 'sorted, as Envoy lists them');
  // A path that only begins like a command is not that command.
  assert.equal((await curl([`${admin}/ready/more`])).status, 404);
});

test('/ready answers LIVE; POST /healthcheck/fail makes it 503 DRAINING while traffic still flows, /healthcheck/ok restores it', async () => {
  const live = await curl([`${admin}/ready`]);
  assert.equal(live.status, 200);
  assert.equal(live.body, 'LIVE\n');
  assert.equal((await curl(['-X', 'POST', `${admin}/healthcheck/fail`])).status, 200);
  try {
    const failed = await curl([`${admin}/ready`]);
    assert.equal(failed.status, 503);
    assert.equal(failed.body, 'DRAINING\n');
    assert.equal(JSON.parse((await curl([`${admin}/server_info`])).body).state, 'DRAINING');
    assert.equal((await curl([`http://127.0.0.1:${port}/still-served`])).status, 200);
  } finally {
    assert.equal((await curl(['-X', 'POST', `${admin}/healthcheck/ok`])).status, 200);
  }
  assert.equal((await curl([`${admin}/ready`])).body, 'LIVE\n');
});

test('/server_info has Envoy\'s shape: version, state, uptime, command line options and node', async () => {
  const r = await curl([`${admin}/server_info`]);
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type']!, /^application\/json/);
  const info = JSON.parse(r.body) as Record<string, any>;
  assert.match(info.version, /^bulwark\/\d+\.\d+\.\d+/);
  assert.equal(info.state, 'LIVE');
  assert.match(info.uptime_current_epoch, /^\d+s$/);
  assert.match(info.uptime_all_epochs, /^\d+s$/);
  assert.equal(info.command_line_options.concurrency, Number(process.env.BULWARK_TEST_CONCURRENCY ?? 1));
  assert.equal(info.command_line_options.drain_time, '7s');
  assert.equal(info.node.id, 'test-proxy');
});

test('POST /quitquitquit drains: /ready says DRAINING with 503 until the proxy exits', async () => {
  // An upstream that answers after 1.5 s: its request in flight keeps the drain waiting, so /ready can be read during it.
  const slowUpstream = http.createServer((_req, res) => setTimeout(() => res.end('late'), 1_500));
  await new Promise<void>((r) => slowUpstream.listen(0, '127.0.0.1', r));
  const slowPort = (slowUpstream.address() as AddressInfo).port;
  const listenerPort = await freePort();
  const p = await startProxy(bootstrap([httpListener('ingress', listenerPort, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'slow' } }]))], [staticCluster('slow', [slowPort])]), { extraArgs: ['--drain-time', '5'] });
  const exited = new Promise((r) => p.child.once('exit', r));
  const slow = curl([`http://127.0.0.1:${listenerPort}/slow`]);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await curl(['-X', 'POST', `http://127.0.0.1:${p.adminPort}/quitquitquit`])).status, 200);
  const during = await curl([`http://127.0.0.1:${p.adminPort}/ready`]);
  assert.equal(during.status, 503);
  assert.equal(during.body, 'DRAINING\n');
  assert.equal((await slow).body, 'late');
  await exited;
  slowUpstream.close();
});

test('/stats/prometheus?filter= keeps the families whose name matches (RE2, percent-encoded or not), ?usedonly drops series never written', async () => {
  await curl([`http://127.0.0.1:${port}/counted`]);
  const all = (await curl([`${admin}/stats/prometheus`])).body;
  assert.match(all, /^bulwark_access_log_dropped_lines_total 0$/m, 'a counter never written is listed without usedonly');
  const filtered = await curl([`${admin}/stats/prometheus?filter=istio%5Frequests_total`]);
  assert.equal(filtered.status, 200);
  assert.match(filtered.body, /^istio_requests_total\{[^}]*response_code="200"[^}]*\} \d+$/m);
  assert.deepEqual([...filtered.body.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]), ['istio_requests_total']);
  const used = (await curl([`${admin}/stats/prometheus?usedonly`])).body;
  assert.match(used, /^istio_requests_total\{/m);
  assert.doesNotMatch(used, /^bulwark_access_log_dropped_lines_total /m);
  assert.equal((await curl([`${admin}/stats?format=prometheus&filter=^istio_requests_total$`])).body, filtered.body);
});

test('/stats?filter= with a pattern RE2 refuses gets 400 "Invalid re2 regex"; a pattern that backtracks for ever elsewhere answers at once', async () => {
  for (const pattern of ['(', '(a)\\1', '(?<=x)y']) {
    const r = await curl([`${admin}/stats?filter=${encodeURIComponent(pattern)}`]);
    assert.equal(r.status, 400, pattern);
    assert.equal(r.body, 'Invalid re2 regex', pattern);
  }
  const started = performance.now();
  const r = await curl([`${admin}/stats/prometheus?filter=${encodeURIComponent('^(([a-z_])+)+[0-9]$')}`]);
  assert.equal(r.status, 200);
  assert.ok(performance.now() - started < 2_000, `took ${performance.now() - started} ms`);
  assert.equal((await curl([`${admin}/ready`])).status, 200);
});

test('/stats lists counters and gauges as sorted "name: value" lines, and as {"stats": [{name, value}]} with ?format=json', async () => {
  await curl([`http://127.0.0.1:${port}/listed`]);
  const text = await curl([`${admin}/stats?filter=istio_requests_total|bulwark_config_reloads`]);
  assert.equal(text.status, 200);
  const lines = text.body.trimEnd().split('\n');
  assert.ok(lines.every((l) => /^[a-z_]+(\{.*\})?: \d+$/.test(l)), text.body);
  assert.deepEqual([...lines].sort(), lines);
  assert.ok(lines.some((l) => /^istio_requests_total\{.*response_code="200".*\}: [1-9]\d*$/.test(l)), text.body);
  const json = await curl([`${admin}/stats?format=json&filter=istio_requests_total`]);
  assert.match(json.headers['content-type']!, /^application\/json/);
  const stats = (JSON.parse(json.body) as { stats: Array<{ name: string; value: number }> }).stats;
  assert.ok(stats.length > 0 && stats.every((s) => s.name.startsWith('istio_requests_total{') && typeof s.value === 'number'));
  assert.equal((await curl([`${admin}/stats?format=yaml`])).status, 400);
});

test('/listeners answers as Envoy: "name::address:port" lines, and ListenerStatuses with ?format=json', async () => {
  const text = await curl([`${admin}/listeners`]);
  assert.equal(text.status, 200);
  assert.equal(text.body, `ingress::127.0.0.1:${port}\n`);
  const json = await curl([`${admin}/listeners?format=json`]);
  assert.deepEqual(JSON.parse(json.body), { listener_statuses: [{ name: 'ingress', local_address: { socket_address: { address: '127.0.0.1', port_value: port } } }] });
});

/** Resident bytes of a process and its children (the workers), from /proc. */
function residentBytes(pid: number): number {
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return rss + children.reduce((sum, child) => sum + residentBytes(child), 0);
}

test('/memory gives Envoy\'s figures as strings, its resident bytes those of the primary and its workers together', async () => {
  const r = await curl([`${admin}/memory`]);
  assert.equal(r.status, 200);
  const memory = JSON.parse(r.body) as Record<string, string>;
  assert.deepEqual(Object.keys(memory).sort(), ['allocated', 'heap_size', 'total_physical_bytes']);
  for (const v of Object.values(memory)) assert.match(v, /^[1-9]\d*$/);
  const resident = residentBytes(proxy.child.pid!);
  const reported = Number(memory.total_physical_bytes);
  assert.ok(Math.abs(reported - resident) < resident * 0.25, `reported ${reported} bytes, /proc says ${resident}`);
});

test('a request target in absolute form (http://host/path) reaches its endpoint, as Envoy\'s codec reads it', async () => {
  const reply = await rawExchange(proxy.adminPort, `GET http://127.0.0.1:${proxy.adminPort}/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, () => false);
  assert.match(reply, /^HTTP\/1\.1 200 /);
  assert.match(reply, /\r\n\r\n5\r\nLIVE\n\r\n0\r\n\r\n$/);
  const proxied = await curl(['-x', `http://127.0.0.1:${proxy.adminPort}`, 'http://admin.invalid/server_info?x=1']);
  assert.equal(proxied.status, 200);
  assert.equal(JSON.parse(proxied.body).state, 'LIVE');
});

test('malformed and abusive requests to the admin port get 400 or 431 and leave it, and the data path, serving', async () => {
  const ask = (raw: string): Promise<string> => rawExchange(proxy.adminPort, raw, () => false, 3_000);
  // Only the start of the HTTP/2 preface: HTTP/1.1 reads it as a bad request line.
  assert.match(await ask('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n'), /^HTTP\/1\.1 400 /);
  assert.match(await ask('GET\r\n\r\n'), /^HTTP\/1\.1 400 /);
  assert.match(await ask('GET /ready HTTP/9.9\r\n\r\n'), /^HTTP\/1\.1 400 /);
  assert.match(await ask('POST /healthcheck/ok HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), /^HTTP\/1\.1 400 /);
  assert.equal((await curl(['-H', `x-big: ${'a'.repeat(100_000)}`, `${admin}/ready`])).status, 431);
  // Pipelined requests are answered in order.
  const pipelined = await ask('GET /ready HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.deepEqual([...pipelined.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => m[1]), ['200', '200', '404']);
  // Connections that never finish their request head hold nothing else up.
  const idle = Array.from({ length: 100 }, () => {
    const s = net.connect(proxy.adminPort, '127.0.0.1');
    s.on('error', () => undefined);
    s.write('GET /ready HTTP/1.1\r\nHost: x\r\n');
    return s;
  });
  try {
    assert.equal((await curl([`${admin}/ready`])).body, 'LIVE\n');
    assert.equal((await curl([`http://127.0.0.1:${port}/during-slow-heads`])).status, 200);
  } finally {
    for (const s of idle) s.destroy();
  }
});

test('HTTP/2 with prior knowledge is served on the admin port, as Envoy\'s admin serves it (curl, nghttp, h2load)', async () => {
  const ready = await curl(['--http2-prior-knowledge', `${admin}/ready`]);
  assert.equal(ready.httpVersion, '2');
  assert.equal(ready.status, 200);
  assert.equal(ready.body, 'LIVE\n');
  const get = await curl(['--http2-prior-knowledge', `${admin}/quitquitquit`]);
  assert.equal(get.status, 405);
  assert.equal(get.body, 'Method GET not allowed, POST required.');
  const info = execFileSync('nghttp', ['-n', '-v', `${admin}/server_info`], { encoding: 'utf8' });
  assert.match(info, /recv \(stream_id=\d+\) :status: 200/);
  const load = execFileSync('h2load', ['-n', '100', '-c', '2', '-m', '10', `${admin}/stats?filter=istio`], { encoding: 'utf8' });
  assert.match(load, /requests: 100 total, 100 started, 100 done, 100 succeeded/);
  assert.equal((await curl([`${admin}/ready`])).httpVersion, '1.1');
});
