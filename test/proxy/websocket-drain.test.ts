/**
 * A drain does not cut an upgraded connection. An HTTP/1.1 connection is asked to finish with
 * `Connection: close` on its next response, but a WebSocket has no next response: like a TCP proxy
 * connection it runs to its own end, and a process drain ends it only when the drain time is up
 * (Envoy keeps upgraded streams through a listener drain the same way). Before, a reload that replaced
 * the listener, or the first moment of a process drain, sent the client a FIN mid-conversation.
 * The client is undici's WebSocket.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'undici';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startWsEchoServer } from '../support/ws-frames.js';

let echo: Awaited<ReturnType<typeof startWsEchoServer>>;

before(async () => {
  echo = await startWsEchoServer();
});

after(() => echo?.close());

function config(port: number): string {
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'ws' } }]);
  return bootstrap([httpListener('web', port, routes, { upgradeConfigs: [{ upgradeType: 'websocket' }] })], [staticCluster('ws', [echo.port])]);
}

async function open(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error('the WebSocket did not open'));
  });
  return ws;
}

/** Sends `text` and resolves with the echo, or with why none came. */
function echoOf(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('no echo within 2 s'), 2000);
    ws.addEventListener('message', (e) => {
      clearTimeout(t);
      resolve(String(e.data));
    }, { once: true });
    ws.addEventListener('close', (e) => {
      clearTimeout(t);
      resolve(`closed (${e.code})`);
    }, { once: true });
    ws.send(text);
  });
}

function closed(ws: WebSocket): Promise<{ code: number; wasClean: boolean }> {
  return new Promise((resolve) => ws.addEventListener('close', (e) => resolve({ code: e.code, wasClean: e.wasClean }), { once: true }));
}

test('a WebSocket open when a reload replaces its listener keeps talking, and closes cleanly when the client says so', async () => {
  const port = await freePort();
  const proxy = await startProxy(config(port));
  try {
    const ws = await open(port);
    assert.equal(await echoOf(ws, 'before'), 'before');
    // Another port is another listener: the old one drains its connections.
    proxy.reload(config(await freePort()));
    await proxy.waitForLog(/config applied/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await echoOf(ws, 'after the reload'), 'after the reload');
    const end = closed(ws);
    ws.close(1000, 'done');
    assert.deepEqual(await end, { code: 1000, wasClean: true });
  } finally {
    await proxy.stop();
  }
});

test('a process drain leaves an open WebSocket working until the drain time is up', async () => {
  const port = await freePort();
  const proxy: RunningProxy = await startProxy(config(port), { extraArgs: ['--drain-time', '2'] });
  const ws = await open(port);
  const end = closed(ws);
  const signalled = Date.now();
  const exited = proxy.stop('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await echoOf(ws, 'during the drain'), 'during the drain');
  assert.equal(await exited, 0);
  await end;
  const lived = Date.now() - signalled;
  assert.ok(lived >= 1800, `the WebSocket ended ${lived} ms into a 2 s drain`);
});
