/**
 * On a listener with several TLS filter chains, only a chain that checks client certificates asks for
 * one (a CertificateRequest in the handshake), as in Envoy: a public host beside a mutual-TLS host must
 * not make browsers prompt for a certificate. Before, every chain asked as soon as one chain verified.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { address, bootstrap, routeConfig, staticCluster, tlsTransport } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

type Version = 'TLSv1.2' | 'TLSv1.3';

const pki = makePki();
const meshClient = pki.issue('mesh-client', 'URI:spiffe://cluster.local/ns/shop/sa/web');
let app: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  app = await startUpstream('app');
  port = await freePort();
  const verify = { validationContext: { trustedCa: { filename: pki.caCert } } };
  const chain = (host: string, serverNames: string[] | undefined, common: Record<string, unknown> = {}, typed: Record<string, unknown> = {}) => {
    const server = pki.issue(`${host}-server`, `DNS:${host}`);
    return {
      name: host,
      ...(serverNames ? { filterChainMatch: { serverNames } } : {}),
      ...tlsTransport(server.cert, server.key, common, typed),
      filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: { statPrefix: host, routeConfig: routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]) } }],
    };
  };
  const listener = {
    name: 'gateway',
    address: address(port),
    filterChains: [
      chain('public.test', ['public.test']),
      chain('mesh.test', ['mesh.test'], verify, { requireClientCertificate: true }),
      chain('optional.test', ['optional.test'], verify),
      chain('fallback.test', undefined),
    ],
  };
  proxy = await startProxy(bootstrap([listener], [staticCluster('app', [app.port])]), { extraArgs: ['--insecure-memory-keys'] });
});

after(async () => {
  await proxy?.stop();
  await app?.close();
});

interface Handshake {
  /** The server sent a CertificateRequest. */
  certificateRequest: boolean;
  /** s_client listed the CA names of that request. */
  caNamesSent: boolean;
  /** The request through the connection was answered 200. */
  served: boolean;
}

/** One HTTP/1.1 request with `openssl s_client -msg` under SNI `serverName`, presenting `client` if given. */
function connect(serverName: string, version: Version, client?: { cert: string; key: string }): Promise<Handshake> {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', serverName, version === 'TLSv1.2' ? '-tls1_2' : '-tls1_3', '-msg', '-ign_eof'];
  if (client) args.push('-cert', client.cert, '-key', client.key);
  return new Promise((resolve) => {
    const child = execFile('openssl', args, { timeout: 10_000 }, (_err, stdout) => {
      resolve({
        certificateRequest: /^<<< TLS 1\.[23], Handshake \[length [0-9a-f]+\], CertificateRequest$/m.test(stdout),
        caNamesSent: /^Acceptable client certificate CA names$/m.test(stdout),
        served: /HTTP\/1\.1 200 /.test(stdout),
      });
    });
    child.stdin!.end(`GET / HTTP/1.1\r\nhost: ${serverName}\r\nconnection: close\r\n\r\n`);
  });
}

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  test(`${version}: a chain without a validation context sends no CertificateRequest beside a mutual-TLS chain`, async () => {
    for (const name of ['public.test', 'fallback.test', 'other.test']) {
      const h = await connect(name, version);
      assert.equal(h.certificateRequest, false, `${name} asks for no client certificate`);
      assert.equal(h.served, true, `${name} is served`);
    }
  });

  test(`${version}: a chain that checks client certificates asks for one with its CA names`, async () => {
    const mesh = await connect('mesh.test', version, meshClient);
    assert.deepEqual(mesh, { certificateRequest: true, caNamesSent: true, served: true });
    assert.equal((await connect('mesh.test', version)).served, false, 'the required certificate is insisted on');
    const optional = await connect('optional.test', version);
    assert.deepEqual(optional, { certificateRequest: true, caNamesSent: true, served: true }, 'asked, but optional');
  });
}
