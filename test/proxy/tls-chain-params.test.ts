/**
 * On a listener with several TLS filter chains, each chain's TLS parameters (protocol versions, cipher
 * suites) hold for its own handshakes. Before, every handshake ran in the listener's first context and
 * took only the certificate of the chain chosen by SNI, so a chain that asked for TLS 1.3 only still
 * completed TLS 1.2 handshakes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { address, bootstrap, routeConfig, staticCluster, tlsTransport } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const pki = makePki();
let app: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  app = await startUpstream('app');
  port = await freePort();
  const chain = (host: string, tlsParams: Record<string, unknown> | undefined) => {
    const server = pki.issue(`${host}-server`, `DNS:${host}`);
    return {
      name: host,
      filterChainMatch: { serverNames: [host] },
      ...tlsTransport(server.cert, server.key, tlsParams ? { tlsParams } : {}),
      filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: { statPrefix: host, routeConfig: routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]) } }],
    };
  };
  const listener = {
    name: 'gateway',
    address: address(port),
    filterChains: [
      chain('legacy.test', undefined),
      chain('modern.test', { tlsMinimumProtocolVersion: 'TLSv1_3' }),
      chain('chacha.test', { tlsMaximumProtocolVersion: 'TLSv1_2', cipherSuites: ['ECDHE-ECDSA-CHACHA20-POLY1305'] }),
    ],
  };
  proxy = await startProxy(bootstrap([listener], [staticCluster('app', [app.port])]), { extraArgs: ['--insecure-memory-keys'] });
});

after(async () => {
  await proxy?.stop();
  await app?.close();
});

/** The protocol and cipher an `openssl s_client` handshake settled on, or undefined when it was refused. */
function handshake(serverName: string, ...args: string[]): Promise<{ protocol: string; cipher: string } | undefined> {
  return new Promise((resolve) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', serverName, ...args], { timeout: 10_000 }, (_err, stdout) => {
      const m = /^New, (TLSv1\.[23]), Cipher is (\S+)/m.exec(stdout);
      resolve(m ? { protocol: m[1]!, cipher: m[2]! } : undefined);
    });
    child.stdin!.end('Q\n');
  });
}

test('a chain that asks for TLS 1.3 refuses TLS 1.2 while its neighbour accepts it', async () => {
  assert.equal((await handshake('legacy.test', '-tls1_2'))?.protocol, 'TLSv1.2');
  assert.equal((await handshake('modern.test', '-tls1_3'))?.protocol, 'TLSv1.3');
  assert.equal(await handshake('modern.test', '-tls1_2'), undefined, 'TLS 1.2 refused on the TLS 1.3 chain');
});

test("a chain's cipher suites and maximum version are the ones its handshakes use", async () => {
  assert.deepEqual(await handshake('chacha.test'), { protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-CHACHA20-POLY1305' });
  assert.equal(await handshake('chacha.test', '-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256'), undefined, 'a cipher the chain does not list is refused');
  assert.equal((await handshake('legacy.test'))?.protocol, 'TLSv1.3');
});
