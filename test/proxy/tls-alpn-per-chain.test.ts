/**
 * On a listener with several TLS filter chains, each chain negotiates ALPN on its own, as Envoy takes
 * alpn_protocols from each chain's TLS context: an HTTP/1.1-only chain never negotiates h2 beside an
 * HTTP/2-capable one, and a tcp_proxy chain offers its own list (or nothing). Before, every chain
 * offered the union of the listener's HTTP chains.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { address, bootstrap, routeConfig, staticCluster, tlsTransport } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const pki = makePki();
let app: TestUpstream;
let proxy: RunningProxy;
let port: number;

const tlsByHost = new Map<string, Record<string, unknown>>();

/** The gateway: auto.test (codec `autoCodec`), h1.test (HTTP/1.1 only), listed.test (alpnProtocols http/1.1), mail.test and raw.test (tcp_proxy). */
function gateway(autoCodec: string): string {
  const tlsFor = (host: string, alpnProtocols?: string[]) => {
    if (!tlsByHost.has(host)) {
      const server = pki.issue(`${host}-server`, `DNS:${host}`);
      tlsByHost.set(host, tlsTransport(server.cert, server.key, alpnProtocols ? { alpnProtocols } : {}));
    }
    return tlsByHost.get(host)!;
  };
  const httpChain = (host: string, codecType: string, alpnProtocols?: string[]) => ({
    name: host,
    filterChainMatch: { serverNames: [host] },
    ...tlsFor(host, alpnProtocols),
    filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: { statPrefix: host, codecType, routeConfig: routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]) } }],
  });
  const tcpChain = (host: string, alpnProtocols?: string[]) => ({
    name: host,
    filterChainMatch: { serverNames: [host] },
    ...tlsFor(host, alpnProtocols),
    filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: host, cluster: 'app' } }],
  });
  const listener = {
    name: 'gateway',
    address: address(port),
    filterChains: [
      httpChain('auto.test', autoCodec),
      httpChain('h1.test', 'HTTP1'),
      httpChain('listed.test', 'AUTO', ['http/1.1']),
      tcpChain('mail.test', ['imap', 'pop3']),
      tcpChain('raw.test'),
    ],
  };
  return bootstrap([listener], [staticCluster('app', [app.port])]);
}

before(async () => {
  app = await startUpstream('app');
  port = await freePort();
  proxy = await startProxy(gateway('AUTO'), { extraArgs: ['--insecure-memory-keys'] });
});

after(async () => {
  await proxy?.stop();
  await app?.close();
});

/** The ALPN protocol an `openssl s_client -alpn` handshake under SNI `serverName` settled on ('' for none), and whether a request through it was answered. */
function negotiate(serverName: string, alpn: string): Promise<{ protocol: string; served: boolean }> {
  return new Promise((resolve) => {
    const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', serverName, '-alpn', alpn, '-ign_eof'];
    const child = execFile('openssl', args, { timeout: 10_000 }, (_err, stdout) => {
      const negotiated = /^ALPN protocol: (\S+)$/m.exec(stdout)?.[1];
      if (negotiated === undefined) assert.match(stdout, /^No ALPN negotiated$/m, `${serverName}: the handshake completed`);
      resolve({ protocol: negotiated ?? '', served: /HTTP\/1\.1 200 /.test(stdout) });
    });
    child.stdin!.end(`GET / HTTP/1.1\r\nhost: ${serverName}\r\nconnection: close\r\n\r\n`);
  });
}

test('an HTTP/1.1-only chain never negotiates h2 beside a chain that does', async () => {
  assert.equal((await negotiate('auto.test', 'h2,http/1.1')).protocol, 'h2');
  assert.equal((await negotiate('h1.test', 'h2,http/1.1')).protocol, 'http/1.1');
  assert.equal((await negotiate('h1.test', 'h2')).protocol, '', 'an h2-only offer goes on without ALPN');
  assert.equal((await negotiate('listed.test', 'h2,http/1.1')).protocol, 'http/1.1', "the chain's alpnProtocols leave h2 out");
});

/** curl --http2 to `host` on the gateway. */
function curlHttp2(host: string) {
  return curl(['--http2', '--cacert', pki.caCert, '--resolve', `${host}:${port}:127.0.0.1`, `https://${host}:${port}/`]);
}

test('curl --http2 speaks HTTP/2 with the chain whose codec has it and HTTP/1.1 with the others', async () => {
  for (const [host, version] of [['auto.test', '2'], ['h1.test', '1.1'], ['listed.test', '1.1']] as const) {
    const r = await curlHttp2(host);
    assert.equal(r.status, 200, host);
    assert.equal(r.httpVersion, version, host);
  }
});

test('a tcp_proxy chain negotiates from its own alpnProtocols, and one without any negotiates nothing', async () => {
  assert.deepEqual(await negotiate('mail.test', 'h2,pop3,imap'), { protocol: 'imap', served: true });
  assert.deepEqual(await negotiate('mail.test', 'pop3,http/1.1'), { protocol: 'pop3', served: true });
  assert.deepEqual(await negotiate('raw.test', 'http/1.1'), { protocol: '', served: true });
  assert.equal((await negotiate('raw.test', 'h2,http/1.1')).protocol, '', 'no h2 for a TCP stream');
});

test("a reload that makes a chain's codec HTTP/1.1 only stops its h2 in ALPN; the other chains keep theirs", async () => {
  proxy.reload(gateway('HTTP1'));
  await proxy.waitForLog(/config applied/);
  assert.equal((await negotiate('auto.test', 'h2,http/1.1')).protocol, 'http/1.1');
  const r = await curlHttp2('auto.test');
  assert.deepEqual([r.status, r.httpVersion], [200, '1.1']);
  assert.deepEqual(await negotiate('mail.test', 'h2,pop3,imap'), { protocol: 'imap', served: true });
});
