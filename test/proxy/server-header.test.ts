/**
 * The `server` response header as Envoy's server_header_transformation sets it: by default every
 * response names the proxy (serverName) instead of the upstream's software, replies the proxy makes
 * itself included; APPEND_IF_ABSENT keeps an upstream's; PASS_THROUGH leaves the header alone.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let upstream: TestUpstream;
let proxy: RunningProxy;
const ports: Record<string, number> = {};

before(async () => {
  upstream = await startUpstream('app', (req, res) => {
    if (req.url === '/named') res.setHeader('server', 'app/1.0');
    res.end('ok');
  });
  const routes = routeConfig([
    { match: { prefix: '/missing' }, directResponse: { status: 404, body: { inlineString: 'nope' } } },
    { match: { prefix: '/' }, route: { cluster: 'app' } },
  ]);
  const modes = { overwrite: {}, named: { serverName: 'edge-gw' }, append: { serverHeaderTransformation: 'APPEND_IF_ABSENT' }, pass: { serverHeaderTransformation: 'PASS_THROUGH' } };
  for (const name of Object.keys(modes)) ports[name] = await freePort();
  proxy = await startProxy(
    bootstrap(
      Object.entries(modes).map(([name, hcm]) => httpListener(name, ports[name]!, routes, hcm)),
      [staticCluster('app', [upstream.port])],
    ),
  );
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

const serverOf = async (listener: string, path: string) => (await curl([`http://127.0.0.1:${ports[listener]}${path}`])).headers.server;

test('by default the proxy names itself in place of the upstream, on proxied and local replies alike', async () => {
  assert.equal(await serverOf('overwrite', '/named'), 'bulwark');
  assert.equal(await serverOf('overwrite', '/plain'), 'bulwark');
  assert.equal(await serverOf('overwrite', '/missing'), 'bulwark');
  assert.equal(await serverOf('named', '/named'), 'edge-gw');
});

test('APPEND_IF_ABSENT keeps the upstream server header; PASS_THROUGH neither adds nor replaces one', async () => {
  assert.equal(await serverOf('append', '/named'), 'app/1.0');
  assert.equal(await serverOf('append', '/plain'), 'bulwark');
  assert.equal(await serverOf('pass', '/named'), 'app/1.0');
  assert.equal(await serverOf('pass', '/plain'), undefined);
  assert.equal(await serverOf('pass', '/missing'), undefined);
});
