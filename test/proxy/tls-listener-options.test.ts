/**
 * TLS listener options as Envoy applies them: a validation context without requireClientCertificate
 * asks for a client certificate and checks one that comes, but lets a client without one in; a
 * connection manager whose codec is HTTP/1.1 does not offer h2 in ALPN; and an HTTP/1.0 client that
 * names http/1.0 in ALPN is served rather than refused in the handshake; a client whose ALPN offer
 * has nothing the listener speaks goes on without ALPN, as with Envoy (no no_application_protocol alert).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import nodeTls from 'node:tls';
import { parseBootstrap } from '../../src/config/bootstrap-loader.js';
import { ConfigErrors } from '../../src/config/config-errors.js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const CLIENT_ID = 'spiffe://cluster.local/ns/shop/sa/web';
const pki = makePki();
const strangers = makePki();
let upstream: TestUpstream;
let proxy: RunningProxy;
let optionalPort: number;
let http1Port: number;

before(async () => {
  upstream = await startUpstream('app');
  optionalPort = await freePort();
  http1Port = await freePort();
  const server = pki.issue('server', 'DNS:localhost');
  const tls = (extra: object) => ({
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      typedConfig: { commonTlsContext: { tlsCertificates: [{ certificateChain: { filename: server.cert }, privateKey: { filename: server.key } }], ...extra } },
    },
  });
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]);
  proxy = await startProxy(
    bootstrap(
      [
        httpListener('optional', optionalPort, routes, { forwardClientCertDetails: 'SANITIZE_SET', setCurrentClientCertDetails: { uri: true } }, tls({ validationContext: { trustedCa: { filename: pki.caCert } } })),
        httpListener('http1', http1Port, routes, { codecType: 'HTTP1' }, tls({})),
      ],
      [staticCluster('app', [upstream.port])],
    ),
    { extraArgs: ['--insecure-memory-keys'] },
  );
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

const base = () => ['--cacert', pki.caCert, '--resolve', `localhost:${optionalPort}:127.0.0.1`, `https://localhost:${optionalPort}/who`];

test('with a validation context and no requireClientCertificate, a client certificate is optional but checked when given', async () => {
  const anonymous = await curl(base());
  assert.equal(anonymous.status, 200);
  assert.equal(JSON.parse(anonymous.body).headers['x-forwarded-client-cert'], undefined);

  const client = pki.issue('client', `URI:${CLIENT_ID}`);
  const known = await curl(['--cert', client.cert, '--key', client.key, ...base()]);
  assert.equal(known.status, 200);
  assert.match(JSON.parse(known.body).headers['x-forwarded-client-cert'], new RegExp(`URI=${CLIENT_ID}`));

  const stranger = strangers.issue('stranger', `URI:${CLIENT_ID}`);
  await assert.rejects(curl(['--cert', stranger.cert, '--key', stranger.key, ...base()]), /curl failed/);
});

test('codecType HTTP1 over TLS offers only http/1.1 in ALPN, so an h2-capable client speaks HTTP/1.1', async () => {
  const r = await curl(['--http2', '--cacert', pki.caCert, '--resolve', `localhost:${http1Port}:127.0.0.1`, `https://localhost:${http1Port}/h1`]);
  assert.equal(r.status, 200);
  assert.equal(r.httpVersion, '1.1');
  const alpn = await new Promise<string>((resolve) =>
    execFile('openssl', ['s_client', '-connect', `127.0.0.1:${http1Port}`, '-alpn', 'h2', '-servername', 'localhost'], { timeout: 5000 }, (_e, out) => resolve(out)).stdin?.end(),
  );
  assert.match(alpn, /No ALPN negotiated/);
});

test('SAN matching without a trusted CA is refused at load, as Envoy refuses it', () => {
  const config = JSON.stringify({
    staticResources: {
      clusters: [
        {
          name: 'c',
          loadAssignment: { endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: 1 } } } }] }] },
          transportSocket: {
            name: 'envoy.transport_sockets.tls',
            typedConfig: { commonTlsContext: { validationContext: { matchTypedSubjectAltNames: [{ sanType: 'URI', matcher: { exact: CLIENT_ID } }] } } },
          },
        },
      ],
    },
  });
  assert.throws(
    () => parseBootstrap(config, 'c.json'),
    (err: unknown) => err instanceof ConfigErrors && /matchTypedSubjectAltNames: SAN-based verification .* without trustedCa/.test(err.errors[0]!.message),
  );
});

test('a client that asks ALPN for http/1.0 only (curl --http1.0) completes its handshake and is served', async () => {
  const r = await curl(['--http1.0', ...base()]);
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).url, '/who');
  // The server's order still decides between the protocols it speaks.
  const h2 = await curl(['--http2', ...base()]);
  assert.equal(h2.httpVersion, '2');
});

/** One HTTP/1.1 request over TLS offering `protocols` in ALPN; the negotiated protocol and the status line. */
function requestOffering(port: number, protocols: string[]): Promise<{ alpn: string | false; status: string; error: string }> {
  return new Promise((resolve) => {
    const out = { alpn: false as string | false, status: '', error: '' };
    const s = nodeTls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(pki.caCert), ALPNProtocols: protocols });
    let body = '';
    s.on('secureConnect', () => {
      out.alpn = s.alpnProtocol ?? false;
      s.write('GET /alpn HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
    });
    s.on('data', (d: Buffer) => (body += d.toString()));
    s.on('error', (e: Error) => (out.error = e.message));
    const timer = setTimeout(() => s.destroy(), 5000);
    s.on('close', () => {
      clearTimeout(timer);
      out.status = body.split('\r\n')[0] ?? '';
      resolve(out);
    });
  });
}

test('a client offering only ALPN protocols the listener does not speak continues without ALPN (as Envoy does) and is served', async () => {
  for (const port of [optionalPort, http1Port]) {
    const foo = await requestOffering(port, ['foo']);
    assert.deepEqual(foo, { alpn: false, status: 'HTTP/1.1 200 OK', error: '' });
    // An overlap is still negotiated in the listener's order.
    const mixed = await requestOffering(port, ['foo', 'http/1.1']);
    assert.equal(mixed.alpn, 'http/1.1');
    assert.equal(mixed.status, 'HTTP/1.1 200 OK');
  }
  const out = await new Promise<string>((resolve) =>
    execFile('openssl', ['s_client', '-connect', `127.0.0.1:${optionalPort}`, '-alpn', 'foo', '-servername', 'localhost', '-CAfile', pki.caCert], { timeout: 5000 }, (_e, stdout, stderr) => resolve(stdout + stderr)).stdin?.end(),
  );
  assert.match(out, /No ALPN negotiated/);
  assert.doesNotMatch(out, /no application protocol/);
  assert.match(out, /Verify return code: 0 \(ok\)/);
});
