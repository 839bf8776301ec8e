/**
 * HTTP/2 settings follow a reload: a new connection gets the new SETTINGS, and one already open keeps
 * serving with the settings it was opened with.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;

const config = (streams: number) =>
  bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), { http2ProtocolOptions: { maxConcurrentStreams: streams } })], [staticCluster('app', [upstream.port])]);

before(async () => {
  upstream = await startUpstream('app');
  port = await freePort();
  proxy = await startProxy(config(7));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

async function connect(): Promise<{ session: http2.ClientHttp2Session; maxStreams: number }> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  const settings = await new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve));
  return { session, maxStreams: settings.maxConcurrentStreams! };
}

function status(session: http2.ClientHttp2Session): Promise<number> {
  return new Promise((resolve) => {
    const s = session.request({ ':path': '/' });
    s.on('response', (h) => resolve(Number(h[':status'])));
    s.on('error', () => resolve(-1));
    s.resume();
  });
}

test('a reload that changes maxConcurrentStreams reaches new connections; an open one keeps working', async () => {
  const old = await connect();
  assert.equal(old.maxStreams, 7);
  proxy.reload(config(11));
  await proxy.waitForLog(/config applied/);
  const fresh = await connect();
  assert.equal(fresh.maxStreams, 11);
  assert.equal(await status(old.session), 200);
  assert.equal(await status(fresh.session), 200);
  old.session.close();
  fresh.session.close();
});
