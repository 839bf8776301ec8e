import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { bulwark, custodyCertificate, newStateDir, startKeyd, type RunningKeyd } from '../keys/keyd-fixture.js';

const TD = 'cluster.local';
const CLIENT_ID = `spiffe://${TD}/ns/default/sa/client`;
const SERVER_ID = `spiffe://${TD}/ns/default/sa/server`;

let state: string;
let keyd: RunningKeyd;
let app: TestUpstream;
let server: RunningProxy;
let client: RunningProxy;
let serverPort: number;
let clientPort: number;
let bundle: string;
let accessLog: string;
let serverSvidForTests: Issued;
let clientSvidForTests: Issued;
const work = mkdtempSync(join(tmpdir(), 'bulwark-mtls-'));

interface Issued {
  certificate: string;
  token: string;
}

/** A TLS certificate whose key stays in the workload's token, used through keyd. */
function custodyCert(s: Issued): object {
  return custodyCertificate(s.certificate, 'svid', s.token);
}

before(async () => {
  state = newStateDir();
  bundle = (JSON.parse(bulwark(['ca', 'init', '--trust-domain', TD, '--state-dir', state])) as { bundle: string }).bundle;
  const clientSvid = JSON.parse(bulwark(['ca', 'issue', '--identity', 'default/client', '--state-dir', state])) as Issued;
  const serverSvid = JSON.parse(bulwark(['ca', 'issue', '--identity', 'default/server', '--state-dir', state])) as Issued;
  serverSvidForTests = serverSvid;
  clientSvidForTests = clientSvid;
  keyd = await startKeyd(state);
  app = await startUpstream('app');
  serverPort = await freePort();
  clientPort = await freePort();
  accessLog = join(work, 'inbound.log');

  // Sidecar inbound: STRICT mTLS, only the client's SPIFFE ID may call.
  const inboundTls = {
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      typedConfig: {
        requireClientCertificate: true,
        commonTlsContext: {
          tlsCertificates: [custodyCert(serverSvid)],
          validationContext: { trustedCa: { filename: bundle }, matchTypedSubjectAltNames: [{ sanType: 'URI', matcher: { exact: CLIENT_ID } }] },
        },
      },
    },
  };
  const inboundRoutes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]);
  server = await startProxy(
    bootstrap([httpListener('inbound', serverPort, inboundRoutes, {
          statPrefix: 'inbound_8443',
          accessLog: [{ typedConfig: { path: accessLog } }],
          // Istio's inbound setting: the application learns its caller from x-forwarded-client-cert.
          forwardClientCertDetails: 'APPEND_FORWARD',
          setCurrentClientCertDetails: { subject: true, dns: true, uri: true },
        }, inboundTls)], [staticCluster('app', [app.port])]),
    { extraArgs: ['--keyd', state] },
  );

  // Sidecar outbound: plain HTTP from the app, mTLS to the server, verifying the server's SPIFFE ID.
  const upstreamTls = {
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      typedConfig: {
        sni: 'server.default.svc',
        commonTlsContext: {
          tlsCertificates: [custodyCert(clientSvid)],
          validationContext: { trustedCa: { filename: bundle }, matchTypedSubjectAltNames: [{ sanType: 'URI', matcher: { exact: SERVER_ID } }] },
        },
      },
    },
  };
  const outboundRoutes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'server' } }]);
  client = await startProxy(bootstrap([httpListener('outbound', clientPort, outboundRoutes, { statPrefix: 'outbound_0.0.0.0_80' })], [staticCluster('server', [serverPort], upstreamTls)]), {
    extraArgs: ['--keyd', state],
  });
});

after(async () => {
  await client?.stop();
  await server?.stop();
  await app?.close();
  await keyd?.stop();
});

test('sidecar to sidecar over mTLS with keys in custody: the server sees the client SPIFFE ID in logs and metrics', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await curl([`http://127.0.0.1:${clientPort}/orders/${i}`]);
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body).upstream, 'app');
  }
  await sleep(400);
  const lines = readFileSync(accessLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(lines.length >= 5);
  assert.ok(lines.every((l) => l.downstream_peer_principal === CLIENT_ID));
  const metrics = (await server.get('/stats/prometheus')).body;
  assert.match(metrics, new RegExp(`istio_requests_total\\{[^}]*source_principal="${CLIENT_ID.replaceAll('/', '\\/')}"[^}]*connection_security_policy="mutual_tls"[^}]*\\} [5-9]`));
});

test('the application behind the inbound sidecar learns its caller from x-forwarded-client-cert; a header the caller made up is dropped', async () => {
  const clientCert = new X509Certificate(readFileSync(clientSvidForTests.certificate));
  const hash = createHash('sha256').update(clientCert.raw).digest('hex');
  // The SVID's subject is its trust domain (O=cluster.local), written RFC 2253 style as Envoy does.
  const expected = `By=${SERVER_ID};Hash=${hash};Subject="O=${TD}";URI=${CLIENT_ID}`;
  // Through the outbound sidecar: its plaintext listener sanitizes (the default), the inbound sets its own element.
  const viaMesh = await curl(['-H', `x-forwarded-client-cert: By=${SERVER_ID};URI=spiffe://${TD}/ns/default/sa/admin`, `http://127.0.0.1:${clientPort}/xfcc`]);
  assert.equal(viaMesh.status, 200, viaMesh.body);
  assert.equal(JSON.parse(viaMesh.body).headers['x-forwarded-client-cert'], expected);
  // Straight to the inbound over mTLS: APPEND_FORWARD keeps what the client sent and appends what the proxy saw.
  const direct = csrSignedByMeshCa(CLIENT_ID);
  const directHash = createHash('sha256').update(new X509Certificate(readFileSync(direct.cert)).raw).digest('hex');
  const r = await curl(['-k', '--cert', direct.cert, '--key', direct.key, '-H', 'x-forwarded-client-cert: By=spiffe://upstream-hop;Hash=00', '--resolve', `server.default.svc:${serverPort}:127.0.0.1`, `https://server.default.svc:${serverPort}/xfcc-direct`]);
  assert.equal(JSON.parse(r.body).headers['x-forwarded-client-cert'], `By=spiffe://upstream-hop;Hash=00,By=${SERVER_ID};Hash=${directHash};Subject="O=${TD}";URI=${CLIENT_ID}`);
});

/** A client certificate from outside the mesh CA's keys (the test's own openssl PKI or a CSR it makes). */
function tryDirect(certFile: string, keyFile: string): Promise<{ ok: boolean; err: string }> {
  // -k: the server's SVID has only a SPIFFE URI (no DNS name for curl to check); this tests the server's checks.
  return curl(['-k', '--cert', certFile, '--key', keyFile, '--resolve', `server.default.svc:${serverPort}:127.0.0.1`, `https://server.default.svc:${serverPort}/direct`], 5000).then(
    (r) => ({ ok: r.status === 200, err: '' }),
    (e: Error) => ({ ok: false, err: e.message }),
  );
}

function csrSignedByMeshCa(spiffeId: string, ttlHours?: number): { cert: string; key: string } {
  const key = join(work, `${Math.random().toString(36).slice(2)}.key`);
  const csr = `${key}.csr`;
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=x'], { stdio: 'ignore' });
  const pem = bulwark(['ca', 'sign', '--csr', csr, '--spiffe-id', spiffeId, '--state-dir', state, ...(ttlHours ? ['--ttl-hours', String(ttlHours)] : [])]);
  const cert = `${key}.crt`;
  writeFileSync(cert, pem);
  return { cert, key };
}

test('a valid mesh certificate with the expected SPIFFE ID is accepted directly', async () => {
  const good = csrSignedByMeshCa(CLIENT_ID);
  assert.equal((await tryDirect(good.cert, good.key)).ok, true);
});

test('wrong SPIFFE ID, unknown CA, wrong trust domain, expired certificate and no certificate are all refused with a log line', async () => {
  const before = (server.logs().match(/peer certificate refused/g) ?? []).length;
  const wrongId = csrSignedByMeshCa(`spiffe://${TD}/ns/default/sa/intruder`);
  const foreign = makePki();
  const unknownCa = foreign.issue('unknown-ca', `URI:${CLIENT_ID}`);
  const otherDomain = foreign.issue('other-domain', 'URI:spiffe://evil.example/ns/default/sa/client');
  const expired = csrSignedByMeshCa(CLIENT_ID, 0.0002);
  await sleep(1500);
  for (const [what, c] of [['wrong SPIFFE ID', wrongId], ['unknown CA', unknownCa], ['wrong trust domain', otherDomain], ['expired', expired]] as const) {
    assert.equal((await tryDirect(c.cert, c.key)).ok, false, `${what} must be refused`);
  }
  const noCert = await curl(['-k', '--resolve', `server.default.svc:${serverPort}:127.0.0.1`, `https://server.default.svc:${serverPort}/`], 5000).then(
    (r) => r.status,
    () => 0,
  );
  assert.equal(noCert, 0, 'no client certificate: refused');
  await sleep(300);
  const logs = server.logs();
  assert.ok((logs.match(/peer certificate refused/g) ?? []).length - before >= 4, logs.slice(-2000));
  assert.match(logs, /subject alternative names do not match/);
  assert.match(logs, /certificate has expired|CERT_HAS_EXPIRED/i);
  assert.match(logs, /unable to verify|self.signed|UNABLE_TO_GET_ISSUER/i);
  // STRICT: plaintext on the mTLS port gets nowhere.
  const plain = await curl([`http://127.0.0.1:${serverPort}/`], 3000).then(
    (r) => r.status,
    () => 0,
  );
  assert.notEqual(plain, 200);
});

test('the outbound side refuses a server whose SPIFFE ID is not the expected one', async () => {
  // The outbound proxy expects SERVER_ID; point a second outbound at the server but expect another ID.
  const port = await freePort();
  const issued = JSON.parse(bulwark(['ca', 'issue', '--identity', 'default/client', '--state-dir', state])) as Issued;
  const tls = {
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      typedConfig: {
        commonTlsContext: {
          tlsCertificates: [custodyCert(issued)],
          validationContext: { trustedCa: { filename: bundle }, matchTypedSubjectAltNames: [{ sanType: 'URI', matcher: { exact: `spiffe://${TD}/ns/default/sa/payments` } }] },
        },
      },
    },
  };
  const p = await startProxy(bootstrap([httpListener('outbound', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'server' } }]))], [staticCluster('server', [serverPort], tls)]), { extraArgs: ['--keyd', state] });
  try {
    const r = await curl([`http://127.0.0.1:${port}/`]);
    assert.equal(r.status, 503);
  } finally {
    await p.stop();
  }
});

test('PERMISSIVE: one port takes mTLS from mesh peers and plaintext from the rest, and tells them apart', async () => {
  const port = await freePort();
  const log = join(work, 'permissive.log');
  const hcm = { statPrefix: 'inbound_permissive', accessLog: [{ typedConfig: { path: log } }] };
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]);
  const http = (extra: Record<string, unknown>): Record<string, unknown> => ({ ...(httpListener('x', port, routes, hcm) as { filterChains: Array<Record<string, unknown>> }).filterChains[0]!, ...extra });
  const listener = {
    name: 'permissive',
    address: { socketAddress: { address: '127.0.0.1', portValue: port } },
    filterChains: [
      http({
        name: 'mtls',
        filterChainMatch: { transportProtocol: 'tls' },
        transportSocket: {
          name: 'envoy.transport_sockets.tls',
          typedConfig: { requireClientCertificate: true, commonTlsContext: { tlsCertificates: [custodyCert(serverSvidForTests)], validationContext: { trustedCa: { filename: bundle } } } },
        },
      }),
      http({ name: 'plaintext', filterChainMatch: { transportProtocol: 'raw_buffer' } }),
    ],
  };
  const p = await startProxy(bootstrap([listener], [staticCluster('app', [app.port])]), { extraArgs: ['--keyd', state] });
  const outboundPort = await freePort();
  const outboundTls = {
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      typedConfig: { commonTlsContext: { tlsCertificates: [custodyCert(clientSvidForTests)], validationContext: { trustedCa: { filename: bundle }, matchTypedSubjectAltNames: [{ sanType: 'URI', matcher: { exact: SERVER_ID } }] } } },
    },
  };
  const out = await startProxy(bootstrap([httpListener('outbound', outboundPort, routes)], [staticCluster('app', [port], outboundTls)]), { extraArgs: ['--keyd', state] });
  try {
    assert.equal((await curl([`http://127.0.0.1:${port}/plain`])).status, 200, 'plaintext accepted');
    assert.equal((await curl([`http://127.0.0.1:${outboundPort}/mutual`])).status, 200, 'mTLS accepted');
    await sleep(400);
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { path: string; downstream_peer_principal: string | null });
    assert.equal(lines.find((l) => l.path === '/plain')!.downstream_peer_principal, null);
    assert.equal(lines.find((l) => l.path === '/mutual')!.downstream_peer_principal, CLIENT_ID);
  } finally {
    await out.stop();
    await p.stop();
  }
});
