/**
 * Draining HTTP/2 in Envoy's two steps (HttpConnectionManager.drainTimeout): first a GOAWAY that
 * refuses no stream already sent (last stream id 2^31-1), and the final one after drainTimeout;
 * a stream in flight completes.
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

before(async () => {
  upstream = await startUpstream('slow', (_req, res) => setTimeout(() => res.end('finished'), 600));
  port = await freePort();
  proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), { drainTimeout: '300ms' })], [staticCluster('app', [upstream.port])]));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

test('on SIGTERM an HTTP/2 client first hears a GOAWAY that refuses nothing, and its stream in flight completes', async () => {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  const goaways: number[] = [];
  session.on('goaway', (_code, lastStreamID) => goaways.push(lastStreamID));
  const body = new Promise<string>((resolve) => {
    const s = session.request({ ':path': '/slow' });
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.on('end', () => resolve(text));
    s.on('error', (e) => resolve(`error ${e.message}`));
  });
  await new Promise((r) => setTimeout(r, 150));
  const exited = proxy.stop();
  assert.equal(await body, 'finished');
  assert.equal(goaways[0], 2 ** 31 - 1);
  session.close();
  assert.equal(await exited, 0);
});
