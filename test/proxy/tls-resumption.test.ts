/**
 * TLS session resumption on listeners that check client certificates: a resumed session is served,
 * not failed, on a listener whose chains are all chosen by server name; and a session made on one
 * filter chain never lets a client skip another chain's client-certificate checks.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { bootstrap, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const mesh = makePki();
const partner = makePki();
const ID = 'spiffe://cluster.local/ns/shop/sa/web';
let a: TestUpstream;
let b: TestUpstream;
let proxy: RunningProxy;
let namedPort: number;
let catchAllPort: number;

function chain(serverNames: string[] | undefined, cluster: string, trusted: string, requireClientCertificate: boolean): object {
  const server = mesh.issue(`server-${cluster}-${serverNames?.[0] ?? 'any'}`, 'DNS:a.test,DNS:b.test');
  return {
    ...(serverNames ? { filterChainMatch: { serverNames } } : {}),
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      typedConfig: {
        requireClientCertificate,
        commonTlsContext: { tlsCertificates: [{ certificateChain: { filename: server.cert }, privateKey: { filename: server.key } }], validationContext: { trustedCa: { filename: trusted } } },
      },
    },
    filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: { statPrefix: cluster, routeConfig: routeConfig([{ match: { prefix: '/' }, route: { cluster } }]) } }],
  };
}

before(async () => {
  a = await startUpstream('a');
  b = await startUpstream('b');
  namedPort = await freePort();
  catchAllPort = await freePort();
  const listener = (name: string, port: number, chains: object[]) => ({ name, address: { socketAddress: { address: '127.0.0.1', portValue: port } }, filterChains: chains });
  proxy = await startProxy(
    bootstrap(
      [
        // A gateway host by name, mutual TLS: no chain for clients without SNI.
        listener('named', namedPort, [chain(['b.test'], 'b', mesh.caCert, true)]),
        // a.test takes the partner's client certificates (optional); everything else needs a mesh one.
        listener('catch-all', catchAllPort, [chain(['a.test'], 'a', partner.caCert, false), chain(undefined, 'b', mesh.caCert, true)]),
      ],
      [staticCluster('a', [a.port]), staticCluster('b', [b.port])],
    ),
    { extraArgs: ['--insecure-memory-keys'] },
  );
});

after(async () => {
  await proxy?.stop();
  await a?.close();
  await b?.close();
});

interface Outcome {
  reused: boolean;
  upstream: string;
  error: string;
  session: Buffer | undefined;
}

/** One HTTPS request on a fresh connection, offering `session` for resumption. */
function request(port: number, servername: string, client: { cert: string; key: string }, version: tls.SecureVersion, session?: Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { reused: false, upstream: '', error: '', session: undefined };
    const s = tls.connect({ host: '127.0.0.1', port, servername, ca: readFileSync(mesh.caCert), cert: readFileSync(client.cert), key: readFileSync(client.key), minVersion: version, maxVersion: version, ALPNProtocols: ['http/1.1'], session });
    let body = '';
    s.on('session', (x: Buffer) => (out.session = x));
    s.on('secureConnect', () => {
      out.reused = s.isSessionReused();
      s.write(`GET / HTTP/1.1\r\nhost: ${servername}\r\nconnection: close\r\n\r\n`);
    });
    s.on('data', (d: Buffer) => (body += d.toString()));
    s.on('error', (e: Error) => (out.error = e.message));
    const timer = setTimeout(() => s.destroy(), 5000);
    s.on('close', () => {
      clearTimeout(timer);
      out.upstream = body.startsWith('HTTP/1.1 200') ? (/"upstream":"(\w+)"/.exec(body)?.[1] ?? '') : '';
      resolve(out);
    });
  });
}

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  test(`${version}: a session on a mutual-TLS listener chosen by server name resumes instead of failing the handshake`, async () => {
    const client = mesh.issue(`web-${version}`, `URI:${ID}`);
    const first = await request(namedPort, 'b.test', client, version);
    assert.equal(first.upstream, 'b', first.error);
    assert.ok(first.session, 'the server issued a session');
    const again = await request(namedPort, 'b.test', client, version, first.session);
    assert.equal(again.error, '');
    assert.equal(again.upstream, 'b');
    assert.equal(again.reused, true);
  });

  test(`${version}: a session from a chain that trusts a partner CA does not get that client past another chain's checks`, async () => {
    const outsider = partner.issue(`partner-${version}`, `URI:${ID}`);
    const onA = await request(catchAllPort, 'a.test', outsider, version);
    assert.equal(onA.upstream, 'a', onA.error);
    assert.equal((await request(catchAllPort, 'b.test', outsider, version)).upstream, '', 'refused on b without resumption');
    const resumedOnB = await request(catchAllPort, 'b.test', outsider, version, onA.session);
    assert.equal(resumedOnB.upstream, '', 'refused on b with a session from a');
    assert.equal(resumedOnB.reused, false);
  });
}
