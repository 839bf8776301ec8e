/**
 * Reloads asked for while another is under way (a SIGHUP during a certificate rotation's reload, two
 * SIGHUPs from a config generator) run one after the other. Run at once, each rolled back to the config
 * it started from: a refused reload put back a config older than the one applied beside it, and the
 * workers served that while /bulwark/status named the newer one.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let a: TestUpstream;
let b: TestUpstream;
let taken: net.Server;
let busyPort: number;
let proxy: RunningProxy;
let port: number;

const to = (cluster: string): object => routeConfig([{ match: { prefix: '/' }, route: { cluster } }]);
const clusters = (): object[] => [staticCluster('a', [a.port]), staticCluster('b', [b.port])];

before(async () => {
  a = await startUpstream('a');
  b = await startUpstream('b');
  taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  busyPort = (taken.address() as net.AddressInfo).port;
  port = await freePort();
  proxy = await startProxy(bootstrap([httpListener('main', port, to('a'))], clusters()), { concurrency: 2 });
});

after(async () => {
  await proxy?.stop();
  await a?.close();
  await b?.close();
  taken?.close();
});

async function upstreamBehind(p: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${p}/`, { headers: { connection: 'close' } });
  return (JSON.parse(await res.text()) as { upstream: string }).upstream;
}

test('a reload asked for while a refused one is under way is applied after it, on every worker', async () => {
  // Refused only once the workers applied it, which takes a few hundred ms with many listeners to bind:
  // the primary accepts for the busy port's listener (round-robin), and binds it after the workers.
  const many = Array.from({ length: 150 }, (_, i) => httpListener(`extra-${i}`, 0, to('b')));
  const busy = httpListener('busy', busyPort, to('b'));
  (busy as { connectionBalanceConfig?: object }).connectionBalanceConfig = { balancer: 'round-robin' };
  proxy.reload(bootstrap([httpListener('main', port, to('b')), ...many, busy], clusters()));
  await new Promise((r) => setTimeout(r, 100));
  proxy.reload(bootstrap([httpListener('main', port, to('b'))], clusters()));
  await proxy.waitForLog(/config reload rejected[^]*config applied|config applied[^]*config reload rejected/, 20_000);
  const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as { version: string; workers: Array<{ version: string }> };
  assert.equal(dump.version, 'static-3');
  assert.deepEqual(
    dump.workers.map((w) => w.version),
    ['static-3', 'static-3'],
  );
  for (let i = 0; i < 4; i++) assert.equal(await upstreamBehind(port), 'b');
});
