/**
 * %DOWNSTREAM_TLS_VERSION% and %DOWNSTREAM_TLS_CIPHER%: the version and OpenSSL cipher name of the
 * session a client made with the proxy, over HTTPS (HTTP/1.1 and HTTP/2 by ALPN) and on a TCP proxy
 * that terminates TLS; unknown on a plain connection.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { address, bootstrap, httpListener, routeConfig, staticCluster, tlsTransport } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { logLineStartingWith } from '../support/log-lines.js';
import { scratchPath } from '../support/scratch-path.js';

let upstream: TestUpstream;
let tcpEcho: net.Server;
let proxy: RunningProxy;
let tlsPort: number;
let plainPort: number;
let tcpPort: number;
const pki = makePki();
const logPath = (name: string) => scratchPath(`access-tls-${name}.log`);
const FORMAT = '%REQ(X-MARK)% version=%DOWNSTREAM_TLS_VERSION% cipher=%DOWNSTREAM_TLS_CIPHER% protocol=%PROTOCOL%\n';

before(async () => {
  upstream = await startUpstream('app', (req, res) => {
    // '/hang' answers after the client has given up.
    setTimeout(() => res.end('late'), req.url === '/hang' ? 800 : 0);
  });
  tcpEcho = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => tcpEcho.listen(0, '127.0.0.1', r));
  [tlsPort, plainPort, tcpPort] = [await freePort(), await freePort(), await freePort()];
  const server = pki.issue('gateway', 'DNS:localhost');
  const hcm = { accessLog: [{ typedConfig: { path: logPath('http'), logFormat: { textFormat: FORMAT } } }] };
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]);
  const tcpLog = { typedConfig: { path: logPath('tcp'), logFormat: { textFormat: 'tcp version=%DOWNSTREAM_TLS_VERSION% cipher=%DOWNSTREAM_TLS_CIPHER%\n' } } };
  const tls = tlsTransport(server.cert, server.key, { alpnProtocols: ['h2', 'http/1.1'] });
  proxy = await startProxy(
    bootstrap(
      [
        httpListener('tls', tlsPort, routes, hcm, tls),
        httpListener('plain', plainPort, routes, hcm),
        {
          name: 'tcp',
          address: address(tcpPort),
          filterChains: [{ ...tlsTransport(server.cert, server.key), filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: 'tcp', cluster: 'echo', accessLog: [tcpLog] } }] }],
        },
      ],
      [staticCluster('app', [upstream.port]), staticCluster('echo', [(tcpEcho.address() as AddressInfo).port])],
    ),
    { extraArgs: ['--insecure-memory-keys'] },
  );
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
  tcpEcho?.close();
  for (const name of ['http', 'tcp']) rmSync(logPath(name), { force: true });
});

function lineWith(name: string, marker: string): Promise<string> {
  return logLineStartingWith(logPath(name), marker);
}

const https = (mark: string, ...args: string[]) => curl(['--cacert', pki.caCert, '-H', `x-mark: ${mark}`, ...args, `https://localhost:${tlsPort}/`]);

test('a client that leaves before its answer (DC) still has its session logged', async () => {
  await curl(['--cacert', pki.caCert, '-H', 'x-mark: gone', '--http1.1', '--tlsv1.2', '--tls-max', '1.2', `https://localhost:${tlsPort}/hang`], 300).catch(() => undefined);
  assert.match(await lineWith('http', 'gone'), /^gone version=TLSv1\.2 cipher=ECDHE-ECDSA-[A-Z0-9-]+ protocol=HTTP\/1\.1$/);
});

test('HTTPS over TLS 1.2: the version and the OpenSSL name of the cipher the client chose', async () => {
  const res = await https('tls12', '--http1.1', '--tlsv1.2', '--tls-max', '1.2', '--ciphers', 'ECDHE-ECDSA-AES128-GCM-SHA256');
  assert.equal(res.status, 200);
  assert.equal(await lineWith('http', 'tls12'), 'tls12 version=TLSv1.2 cipher=ECDHE-ECDSA-AES128-GCM-SHA256 protocol=HTTP/1.1');
});

test('HTTP/2 over TLS 1.3: the TLS 1.3 suite the client asked for', async () => {
  const res = await https('tls13', '--http2', '--tlsv1.3', '--tls13-ciphers', 'TLS_AES_128_GCM_SHA256');
  assert.equal(res.status, 200);
  assert.equal(await lineWith('http', 'tls13'), 'tls13 version=TLSv1.3 cipher=TLS_AES_128_GCM_SHA256 protocol=HTTP/2');
});

test('a plain connection has no TLS version or cipher', async () => {
  assert.equal((await curl(['-H', 'x-mark: plain', `http://127.0.0.1:${plainPort}/`])).status, 200);
  assert.equal(await lineWith('http', 'plain'), 'plain version=- cipher=- protocol=HTTP/1.1');
});

test('a TCP proxy that terminates TLS logs the session it terminated', async () => {
  const out = await new Promise<string>((resolve) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${tcpPort}`, '-tls1_2', '-cipher', 'ECDHE-ECDSA-CHACHA20-POLY1305', '-quiet'], { timeout: 10_000 }, (_err, stdout) => resolve(stdout));
    child.stdin!.write('ping\n');
    setTimeout(() => child.stdin!.end(), 300);
  });
  assert.match(out, /ping/, 'the echo answered through the proxy');
  assert.equal(await lineWith('tcp', 'tcp'), 'tcp version=TLSv1.2 cipher=ECDHE-ECDSA-CHACHA20-POLY1305');
});
