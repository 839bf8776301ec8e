/**
 * A key the config itself gets wrong (a privateKey in memory without --insecure-memory-keys, a pkcs11
 * provider without its keyLabel) is refused at once, with one process and with workers, at start and on
 * reload. Its message names pkcs11, which made it read as a passing key-custody failure: the load was
 * tried again with back-off and, with workers, each worker was replaced by fresh processes before the
 * proxy gave up, logging that keyd could not load the keys.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster, tlsTransport } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { runProxyToExit, startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const RETRIED = /key custody failed to load a key; trying again|replacing it with a fresh process|cannot load its keys through keyd/;

let up: TestUpstream;
let leaf: { cert: string; key: string };

before(async () => {
  up = await startUpstream('up');
  leaf = makePki().issue('server', 'DNS:localhost');
});

after(async () => {
  await up?.close();
});

const routes = () => routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up' } }]);

/** A TLS listener whose key the config gets wrong in two ways. */
function wrongKeyConfigs(port: number): Array<{ what: string; config: string; refusal: RegExp }> {
  const provider = { transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { commonTlsContext: { tlsCertificates: [{ certificateChain: { filename: leaf.cert }, privateKeyProvider: { providerName: 'pkcs11', typedConfig: { token: 't' } } }] } } } };
  return [
    { what: 'a key in memory', config: bootstrap([httpListener('tls', port, routes(), {}, tlsTransport(leaf.cert, leaf.key))], [staticCluster('up', [up.port])]), refusal: /a privateKey in memory is refused/ },
    { what: 'a pkcs11 key without its label', config: bootstrap([httpListener('tls', port, routes(), {}, provider)], [staticCluster('up', [up.port])]), refusal: /privateKeyProvider pkcs11 needs typedConfig\.keyLabel/ },
  ];
}

/** Runs the proxy on `config` to its exit: its code, stderr and how long it took. */
async function runToExit(config: string, concurrency: number): Promise<{ code: number | null; stderr: string; ms: number }> {
  const file = join(mkdtempSync(join(tmpdir(), 'bulwark-key-refusal-')), 'proxy.yaml');
  writeFileSync(file, config);
  const started = Date.now();
  const { code, stderr } = await runProxyToExit(file, concurrency);
  return { code, stderr, ms: Date.now() - started };
}

/** The log line of the proxy's `n`th refused reload, once it is written. */
async function nthRefusal(proxy: RunningProxy, n: number): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = proxy.logs().split('\n').filter((l) => l.includes('config reload rejected'));
    if (lines.length >= n) return lines[n - 1]!;
    assert.ok(Date.now() < deadline, `no refusal #${n} logged:\n${proxy.logs()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

for (const concurrency of [1, 2]) {
  test(`a key the config gets wrong fails the start at once, not as a key custody outage (${concurrency} process${concurrency === 1 ? '' : 'es'})`, { timeout: 150_000 }, async () => {
    for (const { what, config, refusal } of wrongKeyConfigs(await freePort())) {
      const { code, stderr, ms } = await runToExit(config, concurrency);
      assert.equal(code, 1, `${what}: ${stderr}`);
      assert.match(stderr, refusal, what);
      assert.doesNotMatch(stderr, RETRIED, `${what} (after ${ms} ms)`);
    }
  });

  test(`a reload with a key the config gets wrong is refused at once and the running config serves (${concurrency} process${concurrency === 1 ? '' : 'es'})`, { timeout: 60_000 }, async () => {
    const port = await freePort();
    const proxy = await startProxy(bootstrap([httpListener('web', port, routes())], [staticCluster('up', [up.port])]), { concurrency });
    try {
      for (const [i, { what, config, refusal }] of wrongKeyConfigs(await freePort()).entries()) {
        proxy.reload(config);
        const line = await nthRefusal(proxy, i + 1);
        assert.match(line, refusal, what);
        assert.equal((await curl([`http://127.0.0.1:${port}/`])).status, 200, what);
      }
      assert.doesNotMatch(proxy.logs(), RETRIED);
    } finally {
      await proxy.stop();
    }
  });
}
