/**
 * A draining HTTP/2 connection (first GOAWAY sent, drainTimeout still running) is released as soon as
 * its client closes it, as Envoy releases a connection its peer closed. node:http2 stopped reading
 * the socket once the GOAWAY was out and no stream was open, so the client's FIN went unseen: the
 * connection stayed counted until drainTimeout, and a draining process waited for its drain time
 * before exiting.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster, tlsTransport } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { h2Get } from '../support/h2-goaway-client.js';
import { startProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const LONG_DRAIN = { drainTimeout: '30s' };
const pki = makePki();
const serverCert = pki.issue('proxy', 'DNS:localhost');
let up: TestUpstream;

before(async () => {
  up = await startUpstream('up');
});

after(async () => {
  await up?.close();
});

/** A session that closes its connection when it hears a GOAWAY, once its streams are done (as gRPC and browser clients do). */
function closingOnGoaway(url: string, options: http2.SecureClientSessionOptions = {}): { session: http2.ClientHttp2Session; goaway: Promise<void> } {
  const session = http2.connect(url, options);
  session.on('error', () => undefined);
  const goaway = new Promise<void>((resolve) =>
    session.on('goaway', () => {
      session.close();
      resolve();
    }),
  );
  return { session, goaway };
}

/** The proxy's open downstream connections, summed over its workers. */
async function activeConnections(adminGet: (path: string) => Promise<{ body: string }>): Promise<number> {
  const { body } = await adminGet('/stats/prometheus');
  let sum = 0;
  for (const m of body.matchAll(/^bulwark_worker_active_connections(?:\{[^}]*\})? (\d+)$/gm)) sum += Number(m[1]);
  return sum;
}

test('SIGTERM: an idle HTTP/2 client that closes on the GOAWAY lets the proxy exit at once, not at the end of its drain time', async () => {
  const port = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up' } }]);
  const proxy = await startProxy(bootstrap([httpListener('h', port, routes, LONG_DRAIN)], [staticCluster('up', [up.port])]), { extraArgs: ['--drain-time', '30'] });
  const client = closingOnGoaway(`http://127.0.0.1:${port}`);
  assert.equal(await h2Get(client.session, '/before'), 200);
  const started = Date.now();
  const exited = proxy.stop();
  await client.goaway;
  // stop() kills the proxy after 10 s (exit code null): before, it was still draining then.
  assert.equal(await exited, 0);
  const tookMs = Date.now() - started;
  assert.ok(tookMs < 3_000, `exited ${tookMs} ms after SIGTERM`);
});

test('/healthcheck/fail over TLS: the connection gauge drops as soon as the client closes after the GOAWAY', async () => {
  const port = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up' } }]);
  const chain = tlsTransport(serverCert.cert, serverCert.key);
  const proxy = await startProxy(bootstrap([httpListener('h', port, routes, LONG_DRAIN, chain)], [staticCluster('up', [up.port])]), { extraArgs: ['--insecure-memory-keys'] });
  try {
    const client = closingOnGoaway(`https://localhost:${port}`, { ca: readFileSync(pki.caCert) });
    assert.equal(await h2Get(client.session, '/before'), 200);
    assert.equal(await activeConnections(proxy.get), 1);
    assert.equal((await curl(['-X', 'POST', `http://127.0.0.1:${proxy.adminPort}/healthcheck/fail`])).status, 200);
    assert.equal(await h2Get(client.session, '/failed'), 200);
    await client.goaway;
    const deadline = Date.now() + 2_000;
    let active = await activeConnections(proxy.get);
    while (active > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      active = await activeConnections(proxy.get);
    }
    assert.equal(active, 0, 'the closed connection is still counted');
  } finally {
    await proxy.stop();
  }
});
