/**
 * Envoy's scheme_header_transformation. scheme_to_overwrite: the request's scheme is the configured one
 * for routing and for the upstream (:scheme and x-forwarded-proto), whatever the connection was.
 * match_upstream: the upstream request's :scheme says how it travels, https over TLS and http in clear.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';

/** Answers with the :scheme and x-forwarded-proto it was sent. */
function reportScheme(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ scheme: req.scheme, forwardedProto: req.headers['x-forwarded-proto'] }));
}

const pki = makePki();
let clear: http2.Http2Server;
let secure: http2.Http2SecureServer;
let proxy: RunningProxy;
let overwritePort: number;
let matchPort: number;
let plainPort: number;

before(async () => {
  clear = http2.createServer(reportScheme);
  const cert = pki.issue('upstream', 'DNS:localhost');
  secure = http2.createSecureServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, reportScheme);
  await new Promise<void>((r) => clear.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
  [overwritePort, matchPort, plainPort] = [await freePort(), await freePort(), await freePort()];
  const routes = routeConfig([
    { match: { prefix: '/tls' }, route: { cluster: 'tls' } },
    { match: { prefix: '/' }, route: { cluster: 'clear' } },
  ]);
  // Only a request whose scheme is https is routed: the overwritten scheme is what routing sees.
  const httpsOnly = routeConfig([{ match: { prefix: '/', headers: [{ name: ':scheme', stringMatch: { exact: 'https' } }] }, route: { cluster: 'clear' } }]);
  const tls = { transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { sni: 'localhost', commonTlsContext: { validationContext: { trustedCa: { filename: pki.caCert } } } } } };
  proxy = await startProxy(
    bootstrap(
      [
        // Trusted hops: even a trusted x-forwarded-proto gives way to the overwritten scheme.
        httpListener('overwrite', overwritePort, httpsOnly, { xffNumTrustedHops: 1, scheme_header_transformation: { scheme_to_overwrite: 'https' } }),
        httpListener('match', matchPort, routes, { schemeHeaderTransformation: { matchUpstream: true } }),
        httpListener('plain', plainPort, routes),
      ],
      [
        staticCluster('clear', [(clear.address() as AddressInfo).port], { http2ProtocolOptions: {} }),
        staticCluster('tls', [(secure.address() as AddressInfo).port], { http2ProtocolOptions: {}, ...tls }),
      ],
    ),
  );
});

after(async () => {
  await proxy?.stop();
  clear?.close();
  secure?.close();
});

async function seen(port: number, path: string, headers: string[] = []): Promise<{ scheme: string; forwardedProto: string }> {
  const r = await curl([...headers.flatMap((h) => ['-H', h]), `http://127.0.0.1:${port}${path}`]);
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body) as { scheme: string; forwardedProto: string };
}

test('scheme_to_overwrite: a plain-text request is routed as https, and the upstream sees :scheme and x-forwarded-proto https', async () => {
  assert.deepEqual(await seen(overwritePort, '/'), { scheme: 'https', forwardedProto: 'https' });
  assert.deepEqual(await seen(overwritePort, '/', ['x-forwarded-proto: http']), { scheme: 'https', forwardedProto: 'https' });
});

test('match_upstream: :scheme is https towards a TLS upstream and http towards a clear one; x-forwarded-proto still says the client connection', async () => {
  assert.deepEqual(await seen(matchPort, '/tls'), { scheme: 'https', forwardedProto: 'http' });
  assert.deepEqual(await seen(matchPort, '/clear'), { scheme: 'http', forwardedProto: 'http' });
});

test('without a transformation the upstream gets the request\'s own scheme, even over TLS', async () => {
  assert.deepEqual(await seen(plainPort, '/tls'), { scheme: 'http', forwardedProto: 'http' });
});
