/**
 * A running proxy (one process, and two workers) is sent one invalid config per kind of damage on SIGHUP:
 * a required field gone, a value of another type, numbers and durations out of range, an unknown enum
 * value, duplicate names and addresses, deep nesting, a value that contains itself, a very long string, an
 * alias bomb, bytes that are not UTF-8, text that is not YAML, two YAML documents, an empty file, a
 * directory and a missing file. Each is logged with file, resource and field, counted as a rejected
 * reload and named by /bulwark/status, while curl still reaches the last good routes; a valid config then
 * applies.
 */
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { alive } from '../support/process-alive.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let a: TestUpstream;
let b: TestUpstream;

before(async () => {
  a = await startUpstream('a');
  b = await startUpstream('b');
});

after(async () => {
  await a?.close();
  await b?.close();
});

interface Config {
  listeners: Array<Record<string, unknown>>;
  clusters: Array<Record<string, unknown>>;
}

/** Listener "web" on `port` routing to `cluster`, clusters a and b. */
function goodConfig(port: number, cluster = 'a', route: Record<string, unknown> = {}): Config {
  return {
    listeners: [httpListener('web', port, routeConfig([{ match: { prefix: '/' }, route: { cluster, ...route } }])) as Record<string, unknown>],
    clusters: [staticCluster('a', [a.port]) as Record<string, unknown>, staticCluster('b', [b.port]) as Record<string, unknown>],
  };
}

function text(c: Config): string {
  return bootstrap(c.listeners, c.clusters);
}

interface Hcm {
  httpFilters?: unknown[];
  routeConfig: { virtualHosts: Array<{ name: string; routes: Array<{ route: Record<string, unknown> }> }> };
}

/** The web listener's connection manager, to damage in place. */
function hcmOf(c: Config): Hcm {
  return (c.listeners[0]!.filterChains as Array<{ filters: Array<{ typedConfig: Hcm }> }>)[0]!.filters[0]!.typedConfig;
}

/** The web listener's route action, to damage in place. */
function routeOf(c: Config): Record<string, unknown> {
  return hcmOf(c).routeConfig.virtualHosts[0]!.routes[0]!.route;
}

function edited(port: number, edit: (c: Config) => void): string {
  const c = goodConfig(port);
  edit(c);
  return text(c);
}

const HCM = 'listener "web": filterChains\\[0\\]\\.filters\\[0\\]\\.typedConfig';
const ROUTE = `${HCM}\\.routeConfig\\.virtualHosts\\[0\\]\\.routes\\[0\\]\\.route`;

/** Each damaged config and the error (after the file's name) its refusal must log. */
function refusals(port: number): Array<{ what: string; content: string | Buffer; error: RegExp }> {
  const aliasBomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefg'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdef'[i]}`).join(', ')}]`)].join('\n');
  return [
    { what: 'a required field deleted', content: edited(port, (c) => delete c.listeners[0]!.address), error: /^listener "web": address: is required$/ },
    { what: 'a list where an object belongs', content: edited(port, (c) => (c.clusters[0]!.loadAssignment = ['x'])), error: /^cluster "a": loadAssignment: expected an object, got a list$/ },
    { what: 'a port out of range', content: edited(port, (c) => ((c.listeners[0]!.address as { socketAddress: { portValue: number } }).socketAddress.portValue = 70_000)), error: /^listener "web": address\.socketAddress\.portValue: must be between 0 and 65535, got 70000$/ },
    { what: 'a number past 64-bit range', content: edited(port, (c) => (c.clusters[1]!.perConnectionBufferLimitBytes = '99999999999999999999')), error: /^cluster "b": perConnectionBufferLimitBytes: must be between 1024 and 9007199254740991, got 100000000000000000000$/ },
    { what: 'a duration with an unknown unit', content: edited(port, (c) => (routeOf(c).timeout = '5x')), error: new RegExp(`^${ROUTE}\\.timeout: expected a duration such as "1\\.5s" or "250ms", got "5x"$`) },
    { what: 'a negative duration', content: edited(port, (c) => (c.clusters[0]!.connectTimeout = '-1s')), error: /^cluster "a": connectTimeout: expected a duration such as "1\.5s" or "250ms", got "-1s"$/ },
    { what: 'a field with no name', content: edited(port, (c) => (c.clusters[1]!.loadAssignment = { ...(c.clusters[1]!.loadAssignment as object), '': 1 })), error: /^cluster "b": loadAssignment: has a field with no name/ },
    { what: 'an unknown enum value', content: edited(port, (c) => (c.clusters[1]!.lbPolicy = 'FASTEST')), error: /^cluster "b": lbPolicy: must be one of ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, got "FASTEST"$/ },
    { what: 'two clusters of one name', content: edited(port, (c) => c.clusters.push(staticCluster('a', [b.port]) as Record<string, unknown>)), error: /^cluster "a": name: is not unique$/ },
    { what: 'two listeners of one name', content: edited(port, (c) => c.listeners.push({ ...structuredClone(c.listeners[0]!), address: { socketAddress: { address: '127.0.0.1', portValue: 0 } } })), error: /^listener "web": name: is not unique$/ },
    { what: 'two virtual hosts with one domain', content: edited(port, (c) => hcmOf(c).routeConfig.virtualHosts.push({ ...structuredClone(hcmOf(c).routeConfig.virtualHosts[0]!), name: 'vh2' })), error: new RegExp(`^${HCM}\\.routeConfig\\.virtualHosts: domain "\\*" appears in both "vh" and "vh2"$`) },
    { what: 'two listeners on one address', content: edited(port, (c) => c.listeners.push({ ...structuredClone(c.listeners[0]!), name: 'web2' })), error: new RegExp(`^listener "web2": address: 127\\.0\\.0\\.1:${port} is already used by listener "web"$`) },
    { what: 'retriableStatusCodes as a string', content: edited(port, (c) => (routeOf(c).retryPolicy = { retryOn: 'retriable-status-codes', retriableStatusCodes: '503' })), error: new RegExp(`^${ROUTE}\\.retryPolicy\\.retriableStatusCodes: expected a list of status codes$`) },
    // Carried as written into the model: it reached /config_dump and the workers' JSON IPC, which overflowed.
    { what: 'a filter config nested 5000 deep', content: edited(port, (c) => (hcmOf(c).httpFilters = [{ name: 'envoy.filters.http.router', typedConfig: { x: 1 } }])).replace('"x": 1', `"x": ${'['.repeat(5_000)}${']'.repeat(5_000)}`), error: new RegExp(`^${HCM}\\.httpFilters\\[0\\]\\.typedConfig\\.x(\\[0\\])+: nested too deeply to read`) },
    { what: 'a YAML alias inside its own anchor', content: edited(port, (c) => (hcmOf(c).httpFilters = [{ name: 'envoy.filters.http.router', typedConfig: { marker: 1 } }])).replace(/\{\s*"marker": 1\s*\}/, '&router { "x": *router }'), error: new RegExp(`^${HCM}\\.httpFilters\\[0\\]\\.typedConfig\\.x: contains itself`) },
    { what: 'a 1 MB string', content: edited(port, (c) => (routeOf(c).timeout = 'x'.repeat(1 << 20))), error: new RegExp(`^${ROUTE}\\.timeout: expected a duration such as "1\\.5s" or "250ms", got "x{40}…"$`) },
    { what: 'an alias bomb', content: aliasBomb, error: /^\(file\): line 2: YAML aliases would expand to more than 100 copies/ },
    { what: 'Latin-1 bytes', content: Buffer.from(text(goodConfig(port)).replace('"vh"', '"caf\u00e9"'), 'latin1'), error: /^\(file\): line \d+: is not UTF-8 text/ },
    { what: 'text that is not YAML', content: 'staticResources: [listeners: {\n', error: /^\(file\): line \d+: / },
    { what: 'two YAML documents', content: `node: { id: proxy }\n---\n${text(goodConfig(port, 'b'))}\n`, error: /^\(file\): line \d+: a second YAML document starts here: a bootstrap is one document/ },
    { what: 'an empty file', content: '', error: /^bootstrap: \(root\): expected an object, got nothing$/ },
  ];
}

interface RejectedLog {
  msg: string;
  file: string;
  errors?: string[];
  error?: string;
}

/** The structured "config reload rejected" lines logged so far. */
function rejections(proxy: RunningProxy): RejectedLog[] {
  return proxy
    .logs()
    .split('\n')
    .filter((l) => l.includes('"config reload rejected'))
    .map((l) => JSON.parse(l) as RejectedLog);
}

async function waitForRejections(proxy: RunningProxy, count: number): Promise<RejectedLog> {
  const deadline = Date.now() + 20_000;
  while (rejections(proxy).length < count) {
    assert.ok(Date.now() < deadline, `no rejection #${count} logged:\n${proxy.logs().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return rejections(proxy)[count - 1]!;
}

async function servedBy(port: number): Promise<string> {
  const res = await curl([`http://127.0.0.1:${port}/who`]);
  assert.equal(res.status, 200, res.body);
  return (JSON.parse(res.body) as { upstream: string }).upstream;
}

for (const concurrency of [1, 2]) {
  describe(`with ${concurrency} worker process${concurrency === 1 ? '' : 'es'}`, () => {
    let proxy: RunningProxy;
    let port: number;

    before(async () => {
      port = await freePort();
      proxy = await startProxy(text(goodConfig(port)), { concurrency });
    });

    after(async () => {
      await proxy?.stop();
    });

    test('each invalid config is refused with file, resource and field while the last good one serves', { timeout: 120_000 }, async () => {
      const cases = refusals(port);
      for (const [i, c] of cases.entries()) {
        writeFileSync(proxy.configFile, c.content);
        proxy.child.kill('SIGHUP');
        const logged = await waitForRejections(proxy, i + 1);
        const errors = logged.errors ?? [logged.error ?? ''];
        assert.equal(logged.file, proxy.configFile, c.what);
        assert.ok(errors[0]!.startsWith(`${proxy.configFile}: `), `${c.what}: ${errors[0]!.slice(0, 300)}`);
        assert.match(errors[0]!.slice(proxy.configFile.length + 2), c.error, c.what);
        assert.equal(await servedBy(port), 'a', c.what);
      }

      // A directory in the file's place, then no file at all.
      const aside = `${proxy.configFile}.aside`;
      renameSync(proxy.configFile, aside);
      mkdirSync(proxy.configFile);
      proxy.child.kill('SIGHUP');
      assert.deepEqual((await waitForRejections(proxy, cases.length + 1)).errors, [`${proxy.configFile}: (file): read: EISDIR: illegal operation on a directory, read`]);
      rmSync(proxy.configFile, { recursive: true });
      proxy.child.kill('SIGHUP');
      assert.match((await waitForRejections(proxy, cases.length + 2)).errors![0]!, /: \(file\): read: ENOENT: no such file or directory/);
      renameSync(aside, proxy.configFile);
      assert.equal(await servedBy(port), 'a');
      assert.ok(alive(proxy.child.pid!));

      // Seen without the logs: counted (by every worker) and the last one named by /bulwark/status.
      const refused = cases.length + 2;
      const metrics = (await proxy.get('/stats/prometheus')).body;
      const counts = [...metrics.matchAll(/^bulwark_config_reloads_total\{result="rejected"[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
      assert.deepEqual(counts, Array(concurrency).fill(refused), metrics.split('\n').filter((l) => l.includes('reloads')).join('\n'));
      const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as { version: string; lastReloadError?: string };
      assert.equal(dump.version, 'static-1');
      assert.match(dump.lastReloadError ?? '', /: \(file\): read: ENOENT/);
    });

    test('then a valid config applies, and clears the last refusal', { timeout: 60_000 }, async () => {
      proxy.reload(text(goodConfig(port, 'b')));
      await proxy.waitForLog(/"config applied"/);
      assert.equal(await servedBy(port), 'b');
      const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as { version: string; lastReloadError?: string };
      assert.notEqual(dump.version, 'static-1');
      assert.equal(dump.lastReloadError, undefined);
    });
  });
}
