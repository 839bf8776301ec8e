/**
 * A reload may move a listener's accepting between the primary (a balancer such as round-robin) and the
 * workers (balancer none) without changing its address. The primary held the address while the workers
 * bound it, so the reload was refused (EADDRINUSE), and each refusal left a socket open in every process.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster, tlsTransport } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let a: TestUpstream;
let b: TestUpstream;
let proxy: RunningProxy;
let port: number;

function config(balancer: string, cluster: string): string {
  const main = httpListener('main', port, routeConfig([{ match: { prefix: '/' }, route: { cluster } }]));
  (main as { connectionBalanceConfig?: object }).connectionBalanceConfig = { balancer };
  return bootstrap([main], [staticCluster('a', [a.port]), staticCluster('b', [b.port])]);
}

before(async () => {
  a = await startUpstream('a');
  b = await startUpstream('b');
  port = await freePort();
  proxy = await startProxy(config('round-robin', 'a'), { concurrency: 2 });
});

after(async () => {
  await proxy?.stop();
  await a?.close();
  await b?.close();
});

async function upstreamBehind(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
  return (JSON.parse(await res.text()) as { upstream: string }).upstream;
}

test('a listener switched between the primary and the workers on the same address is reloaded both ways', async () => {
  let version = 1;
  for (const [balancer, cluster] of [['none', 'b'], ['round-robin', 'a'], ['none', 'b'], ['exact', 'a']] as const) {
    proxy.reload(config(balancer, cluster));
    version++;
    for (let i = 0; ; i++) {
      const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as { version: string; lastReloadError?: string };
      assert.equal(dump.lastReloadError, undefined, `to balancer ${balancer}`);
      if (dump.version === `static-${version}`) break;
      assert.ok(i < 100, `static-${version} not applied: ${dump.version}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; i < 4; i++) assert.equal(await upstreamBehind(), cluster, `balancer ${balancer}`);
  }
});

test('a refused reload that would have moved a listener to the workers leaves it accepting in the primary', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-switch-'));
  writeFileSync(join(dir, 'bad.crt'), 'not a certificate');
  writeFileSync(join(dir, 'bad.key'), 'not a key');
  proxy.reload(config('round-robin', 'a'));
  await proxy.waitForLog(/(config applied[^]*){5}/);
  const refused = JSON.parse(config('none', 'b')) as { staticResources: { listeners: object[] } };
  const tlsPort = await freePort();
  refused.staticResources.listeners.push(httpListener('tls', tlsPort, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'b' } }]), {}, tlsTransport(join(dir, 'bad.crt'), join(dir, 'bad.key'))));
  proxy.reload(JSON.stringify(refused));
  await proxy.waitForLog(/config reload rejected/);
  for (let i = 0; i < 4; i++) assert.equal(await upstreamBehind(), 'a');
  const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as { version: string; workers: Array<{ version: string }> };
  assert.equal(dump.version, 'static-6');
});
