/**
 * The listener's requestTimeout (the whole request must arrive in time, Envoy's request_timeout) and a
 * route's idleTimeout (it replaces the listener's stream idle timeout).
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let echo: TestUpstream;
let slowAnswer: TestUpstream;
let silent: TestUpstream;
let closing: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  echo = await startUpstream('echo');
  // Answers 700 ms after the request has fully arrived: longer than the request timeout, which no longer runs.
  slowAnswer = await startUpstream('slow', (_req, res) => setTimeout(() => res.end('late but whole'), 700));
  silent = await startUpstream('silent', () => undefined);
  // Closes every connection after its answer, so each request needs a new upstream connection.
  closing = await startUpstream('closing', (_req, res) => res.setHeader('connection', 'close').end('connected'));
  port = await freePort();
  const routes = {
    name: 'r',
    virtualHosts: [
      {
        name: 'all',
        domains: ['*'],
        routes: [
          { match: { prefix: '/slow-answer' }, route: { cluster: 'slow', timeout: '5s' } },
          { match: { prefix: '/quick-idle' }, route: { cluster: 'silent', timeout: '0s', idleTimeout: '300ms' } },
          { match: { prefix: '/patient' }, route: { cluster: 'patient', timeout: '1000h' } },
          { match: { prefix: '/' }, route: { cluster: 'echo' } },
        ],
      },
    ],
  };
  proxy = await startProxy(
    bootstrap([httpListener('h', port, routes, { requestTimeout: '400ms', streamIdleTimeout: '10s' })], [staticCluster('echo', [echo.port]), staticCluster('slow', [slowAnswer.port]), staticCluster('silent', [silent.port]), staticCluster('patient', [closing.port], { connectTimeout: '1000h' })]),
  );
});

after(async () => {
  await proxy?.stop();
  await echo?.close();
  await slowAnswer?.close();
  await silent?.close();
  await closing?.close();
});

/** Sends an upload that trickles a byte every 100 ms (never idle, never complete); resolves with what came back. */
function trickle(): Promise<{ response: string; ms: number; closed: boolean }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let response = '';
    const timer = setInterval(() => socket.write('x'), 100);
    const give = setTimeout(() => socket.destroy(), 4000);
    socket.on('connect', () => socket.write('POST /upload HTTP/1.1\r\nhost: t\r\ncontent-length: 1000\r\n\r\n0123456789'));
    socket.on('data', (d) => (response += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(give);
      resolve({ response, ms: Date.now() - started, closed: Date.now() - started < 4000 });
    });
  });
}

test('an upload that does not arrive within requestTimeout gets 408 and the connection closes, though it was never idle', async () => {
  const r = await trickle();
  assert.match(r.response, /^HTTP\/1\.1 408 /);
  assert.match(r.response, /request timeout/);
  assert.ok(r.closed, 'the proxy closed the connection');
  assert.ok(r.ms >= 350 && r.ms < 2000, `answered after ${r.ms} ms`);
  assert.equal(echo.requests.filter((q) => q.url === '/upload').length, 0, 'the upstream never saw a whole request');
});

test('HTTP/2: the same upload stream gets 408', async () => {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => undefined);
  const status = await new Promise<number>((resolve) => {
    const s = client.request({ ':method': 'POST', ':path': '/upload-h2' });
    const timer = setInterval(() => s.write('x'), 100);
    s.on('response', (h) => {
      clearInterval(timer);
      resolve(Number(h[':status']));
    });
    s.on('error', () => resolve(-1));
    s.resume();
    setTimeout(() => {
      clearInterval(timer);
      resolve(-1);
    }, 3000);
  });
  client.close();
  assert.equal(status, 408);
});

test('the request timeout stops once the request has arrived: a slower answer still comes whole', async () => {
  const r = await fetch(`http://127.0.0.1:${port}/slow-answer`, { method: 'POST', body: 'small' });
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'late but whole');
});

test("a route's idleTimeout replaces the listener's stream idle timeout", async () => {
  const started = Date.now();
  const r = await fetch(`http://127.0.0.1:${port}/quick-idle`);
  const ms = Date.now() - started;
  // 504: the request had arrived whole, so the wait was the upstream's (Envoy's maybeRequestTimeoutCode).
  assert.equal(r.status, 504);
  assert.equal(await r.text(), 'stream timeout');
  // Cut between one and two periods after the last byte; the listener's own would be 10 s.
  assert.ok(ms < 2000, `answered after ${ms} ms`);
});

test('timeouts longer than a Node timer can hold (1000h) wait, rather than firing at once', async () => {
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/patient`, { headers: { connection: 'close' } });
    assert.equal(res.status, 200, `request ${i}`);
    assert.equal(await res.text(), 'connected');
  }
  assert.doesNotMatch(proxy.logs(), /TimeoutOverflowWarning/);
});
