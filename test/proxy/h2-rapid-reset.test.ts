/**
 * HTTP/2 "rapid reset" (CVE-2023-44487): a client that opens streams and cancels them at once makes
 * the proxy start an upstream request per stream for two frames of its own. Such a connection is
 * closed with GOAWAY ENHANCE_YOUR_CALM; ordinary clients, including ones that cancel now and then,
 * are not.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import { PrematureResetGuard } from '../../src/proxy/http/premature-resets.js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  upstream = await startUpstream('u');
  port = await freePort();
  proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'u' } }]))], [staticCluster('u', [upstream.port])]));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

test('the guard trips on 250 early resets, or on half of the streams past 500', () => {
  const burst = new PrematureResetGuard();
  let tripped = -1;
  for (let i = 1; i <= 400 && tripped < 0; i++) if (burst.onStreamClosed(true, 1)) tripped = i;
  assert.equal(tripped, 250);
  const mixed = new PrematureResetGuard();
  // Two completed streams per reset: a third of the streams reset, never half.
  for (let i = 0; i < 3000; i++) assert.equal(mixed.onStreamClosed(i % 3 === 0, 1), false);
  const slowCancels = new PrematureResetGuard();
  // Resets after a stream lived past a second are a client changing its mind, not an attack.
  for (let i = 0; i < 3000; i++) assert.equal(slowCancels.onStreamClosed(true, 1500), false);
});

/** Opens and cancels `count` streams on one session; resolves with the GOAWAY code seen, if any. */
function rapidReset(count: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    let goaway: number | undefined;
    let sent = 0;
    client.on('goaway', (code: number) => (goaway = code));
    client.on('error', () => undefined);
    client.on('close', () => resolve(goaway));
    const burst = (): void => {
      for (let i = 0; i < 50 && sent < count && !client.destroyed && !client.closed; i++, sent++) {
        try {
          const s = client.request({ ':path': `/reset/${sent}` });
          s.on('error', () => undefined);
          s.close(http2.constants.NGHTTP2_CANCEL);
        } catch {
          sent = count;
        }
      }
      if (sent < count && !client.destroyed && !client.closed) setImmediate(burst);
      else setTimeout(() => client.destroy(), 1000);
    };
    client.on('connect', burst);
  });
}

test('a connection that opens and cancels streams in a loop gets GOAWAY ENHANCE_YOUR_CALM', async () => {
  const code = await rapidReset(3000);
  assert.equal(code, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  const after = await curl(['--http2-prior-knowledge', `http://127.0.0.1:${port}/still-serving`]);
  assert.equal(after.status, 200);
});

test('a client that sends many requests on one connection is not cut off', async () => {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => undefined);
  let ok = 0;
  for (let batch = 0; batch < 12; batch++) {
    const statuses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        new Promise<number>((resolve) => {
          const s = client.request({ ':path': `/many/${batch}/${i}` });
          // Every third stream is cancelled once its response has started: ordinary client behaviour.
          s.on('response', (h) => {
            if (i % 3 === 0) s.close(http2.constants.NGHTTP2_CANCEL);
            resolve(Number(h[':status']));
          });
          s.on('error', () => resolve(0));
          s.resume();
        }),
      ),
    );
    ok += statuses.filter((s) => s === 200).length;
  }
  assert.equal(ok, 600);
  assert.equal(client.destroyed || client.closed, false);
  client.close();
});
