/**
 * A TCP proxy connection whose upstream TLS handshake fails (Istio's sidecar-to-sidecar TCP over
 * mutual TLS, an upstream with a certificate from another CA or for another name) is closed with UF,
 * and its access log line says why in upstream_transport_failure_reason, as the HTTP path's does and
 * as Envoy's tcp_proxy does. Before, the TCP line left the reason null.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { address, bootstrap, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';

const accessLog = join(mkdtempSync(join(tmpdir(), 'bulwark-tcp-tls-')), 'access.log');
const servers: tls.Server[] = [];
let proxy: RunningProxy;
const ports: Record<string, number> = {};

async function tlsEcho(cert: string, key: string): Promise<number> {
  const server = tls.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return (server.address() as net.AddressInfo).port;
}

before(async () => {
  const trusted = makePki();
  const other = makePki();
  const good = trusted.issue('db', 'DNS:db.internal');
  const foreign = other.issue('db', 'DNS:db.internal');
  const wrongName = trusted.issue('cache', 'DNS:cache.internal');
  const upstreamTls = {
    transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { sni: 'db.internal', commonTlsContext: { validationContext: { trustedCa: { filename: trusted.caCert } } } } },
  };
  const clusters = [
    staticCluster('good', [await tlsEcho(good.cert, good.key)], upstreamTls),
    staticCluster('foreign', [await tlsEcho(foreign.cert, foreign.key)], upstreamTls),
    staticCluster('wrong-name', [await tlsEcho(wrongName.cert, wrongName.key)], upstreamTls),
  ];
  const listeners = [];
  for (const cluster of ['good', 'foreign', 'wrong-name']) {
    ports[cluster] = await freePort();
    listeners.push({
      name: cluster,
      address: address(ports[cluster]!),
      filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: cluster, cluster, accessLog: [{ typedConfig: { path: accessLog } }] } }] }],
    });
  }
  proxy = await startProxy(bootstrap(listeners, clusters));
});

after(async () => {
  await proxy?.stop();
  for (const s of servers) s.close();
});

/** Sends a line through the listener and resolves with the echo, or '' when the proxy closes first. */
function through(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('ping'));
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got === 'ping') s.destroy();
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
  });
}

async function logLine(cluster: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 40; i++) {
    const lines = readFileSync(accessLog, { encoding: 'utf8', flag: 'a+' }).trim().split('\n').filter(Boolean);
    const line = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.upstream_cluster === cluster);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no access log line for ${cluster}`);
}

test('an upstream whose certificate verifies carries the bytes, with no failure reason', async () => {
  assert.equal(await through(ports.good!), 'ping');
  const line = await logLine('good');
  assert.equal(line.response_flags, '-');
  assert.equal(line.upstream_transport_failure_reason, null);
});

test('a certificate from a CA the cluster does not trust: UF, and the log names the verification error', async () => {
  assert.equal(await through(ports.foreign!), '');
  const line = await logLine('foreign');
  assert.equal(line.response_flags, 'UF');
  assert.match(String(line.upstream_transport_failure_reason), /^TLS_error: [A-Z_]+: /);
  assert.match(String(line.upstream_transport_failure_reason), /SELF_SIGNED|UNABLE_TO_VERIFY|unable to verify/i);
});

test('a certificate for another name: UF, and the log names the name mismatch', async () => {
  assert.equal(await through(ports['wrong-name']!), '');
  const line = await logLine('wrong-name');
  assert.equal(line.response_flags, 'UF');
  assert.match(String(line.upstream_transport_failure_reason), /^TLS_error: ERR_TLS_CERT_ALTNAME_INVALID: /);
});
