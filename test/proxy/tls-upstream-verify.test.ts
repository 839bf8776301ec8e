/**
 * TLS origination never takes an upstream certificate unchecked: a cluster with a transport socket but
 * no trustedCa still verifies the server (against Node's public roots), so a self-signed or privately
 * issued certificate is refused with 503 UF and the reason in the access log. Every handshake failure
 * (unknown CA, SANs, hostname, expiry) fills upstream_transport_failure_reason, is logged once per
 * cluster and reason, and counts as a connect failure.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';

const privateCa = makePki();
const accessLog = join(mkdtempSync(join(tmpdir(), 'bulwark-upstream-verify-')), 'access.log');
let app: https.Server;
let expiredApp: https.Server;
let appPort: number;
let proxy: RunningProxy;
let port: number;

before(async () => {
  const c = privateCa.issue('app', 'DNS:localhost');
  // h2 offered too, so an HTTP/2 cluster's handshake gets as far as verifying the certificate.
  app = https.createServer({ cert: readFileSync(c.cert), key: readFileSync(c.key), ALPNProtocols: ['http/1.1', 'h2'] }, (_req, res) => res.end('reached'));
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const old = privateCa.issue('expired', 'DNS:localhost', { days: -1 });
  expiredApp = https.createServer({ cert: readFileSync(old.cert), key: readFileSync(old.key) }, (_req, res) => res.end('reached'));
  await new Promise<void>((resolve) => expiredApp.listen(0, '127.0.0.1', resolve));
  port = await freePort();
  appPort = (app.address() as AddressInfo).port;
  const expiredPort = (expiredApp.address() as AddressInfo).port;
  const trusted = { trustedCa: { filename: privateCa.caCert } };
  const tlsWrongSan = { transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { sni: 'localhost', commonTlsContext: { validationContext: { ...trusted, matchTypedSubjectAltNames: [{ sanType: 'DNS', matcher: { exact: 'payments.internal' } }] } } } } };
  const tlsWrongHost = { transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { sni: 'other.example', commonTlsContext: { validationContext: trusted } } } };
  const tlsNoCa = { transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { sni: 'localhost' } } };
  const tlsWithCa = { transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { sni: 'localhost', commonTlsContext: { validationContext: { trustedCa: { filename: privateCa.caCert } } } } } };
  // Envoy's deprecated match_subject_alt_names, as its double-proxy example writes it: a matcher against a SAN of any type.
  const tlsUntypedSan = (matcher: object) => ({ transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { sni: 'localhost', commonTlsContext: { validationContext: { ...trusted, match_subject_alt_names: [matcher] } } } } });
  proxy = await startProxy(
    bootstrap(
      [
        httpListener('outbound', port, routeConfig([
          { match: { prefix: '/unverified' }, route: { cluster: 'no-ca' } },
          { match: { prefix: '/verified' }, route: { cluster: 'with-ca' } },
          { match: { prefix: '/wrong-san' }, route: { cluster: 'wrong-san' } },
          { match: { prefix: '/wrong-host' }, route: { cluster: 'wrong-host' } },
          { match: { prefix: '/expired' }, route: { cluster: 'expired' } },
          { match: { prefix: '/h2-unverified' }, route: { cluster: 'h2-no-ca' } },
          { match: { prefix: '/untyped-san-match' }, route: { cluster: 'untyped-san-match' } },
          { match: { prefix: '/untyped-san-mismatch' }, route: { cluster: 'untyped-san-mismatch' } },
        ]), { accessLog: [{ typedConfig: { path: accessLog } }] }),
      ],
      [
        staticCluster('no-ca', [appPort], tlsNoCa),
        staticCluster('with-ca', [appPort], tlsWithCa),
        staticCluster('wrong-san', [appPort], tlsWrongSan),
        staticCluster('wrong-host', [appPort], tlsWrongHost),
        staticCluster('expired', [expiredPort], tlsWithCa),
        staticCluster('h2-no-ca', [appPort], { ...tlsNoCa, http2ProtocolOptions: {} }),
        staticCluster('untyped-san-match', [appPort], tlsUntypedSan({ suffix: 'host' })),
        staticCluster('untyped-san-mismatch', [appPort], tlsUntypedSan({ exact: 'payments.internal' })),
      ],
    ),
    // One process: the rate-limited warning is once per process.
    { concurrency: 1 },
  );
});

after(async () => {
  await proxy?.stop();
  app?.close();
  expiredApp?.close();
});

interface LogLine {
  path: string;
  response_flags: string;
  response_code_details: string;
  upstream_transport_failure_reason: string | null;
}

function accessLogLine(path: string): LogLine | undefined {
  return readFileSync(accessLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogLine).filter((l) => l.path === path).pop();
}

function connectFailures(metrics: string, cluster: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith('bulwark_upstream_connect_failures_total{') && l.includes(`cluster="${cluster}"`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('each upstream TLS handshake failure names its reason in the access log, the logs and the connect-failure count', async () => {
  const cases = [
    { path: '/unverified', cluster: 'no-ca', code: /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED/ },
    { path: '/wrong-san', cluster: 'wrong-san', code: /ERR_TLS_CERT_ALTNAME_INVALID:_upstream_certificate_SANs_do_not_match/ },
    { path: '/wrong-host', cluster: 'wrong-host', code: /ERR_TLS_CERT_ALTNAME_INVALID:_.*other\.example/ },
    { path: '/expired', cluster: 'expired', code: /CERT_HAS_EXPIRED:_certificate_has_expired/ },
    // Over an HTTP/2 upstream the requests waiting on the connection learn the same reason.
    { path: '/h2-unverified', cluster: 'h2-no-ca', code: /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED/ },
  ];
  const before = (await proxy.get('/stats/prometheus')).body;
  for (const c of cases) {
    for (let i = 0; i < 3; i++) assert.equal((await curl([`http://127.0.0.1:${port}${c.path}`])).status, 503, c.path);
  }
  await sleep(300);
  const after = (await proxy.get('/stats/prometheus')).body;
  const logs = proxy.logs().split('\n').filter((l) => l.includes('upstream TLS handshake failed')).map((l) => JSON.parse(l) as { level: string; cluster: string; host: string; reason: string });
  for (const c of cases) {
    const line = accessLogLine(c.path)!;
    assert.equal(line.response_flags, 'UF', c.path);
    // Three failures, one warning: at most one per cluster and reason in 10 s.
    const warned = logs.filter((l) => l.cluster === c.cluster);
    assert.equal(warned.length, 1, `${c.cluster}: ${JSON.stringify(warned)}`);
    assert.equal(warned[0]!.level, 'warn');
    assert.match(warned[0]!.reason, /^TLS_error: [A-Z_]+: /, c.path);
    // The access log writes the same reason as Envoy's operator does, its spaces as underscores.
    assert.equal(line.upstream_transport_failure_reason, warned[0]!.reason.replaceAll(' ', '_'));
    assert.match(String(line.upstream_transport_failure_reason), c.code, c.path);
    assert.match(warned[0]!.host, /^127\.0\.0\.1:\d+$/);
    assert.ok(connectFailures(after, c.cluster) - connectFailures(before, c.cluster) >= 3, `${c.cluster} connect failures counted`);
  }
  assert.doesNotMatch(proxy.logs(), /PRIVATE KEY|BEGIN CERTIFICATE/);
});

test('a request that reached its upstream has no transport failure reason', async () => {
  assert.equal((await curl([`http://127.0.0.1:${port}/verified`])).status, 200);
  await sleep(300);
  assert.equal(accessLogLine('/verified')!.upstream_transport_failure_reason, null);
});

test('an upstream certificate no trusted CA vouches for is refused when the cluster names no trustedCa', async () => {
  const r = await curl([`http://127.0.0.1:${port}/unverified`]);
  assert.equal(r.status, 503);
  assert.notEqual(r.body, 'reached');
  await sleep(300);
  const line = readFileSync(accessLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { path: string; response_flags: string; response_code_details: string }).find((l) => l.path === '/unverified')!;
  assert.equal(line.response_flags, 'UF');
  assert.match(line.response_code_details, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED/);
});

test('the same upstream is reached once its CA is the trustedCa', async () => {
  const r = await curl([`http://127.0.0.1:${port}/verified`]);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'reached');
});

test('the deprecated match_subject_alt_names verifies as Envoy expands it: a DNS SAN satisfies a matcher, another name is refused', async () => {
  const matched = await curl([`http://127.0.0.1:${port}/untyped-san-match`]);
  assert.equal(matched.status, 200);
  assert.equal(matched.body, 'reached');
  assert.equal((await curl([`http://127.0.0.1:${port}/untyped-san-mismatch`])).status, 503);
  await sleep(300);
  assert.match(String(accessLogLine('/untyped-san-mismatch')!.upstream_transport_failure_reason), /upstream_certificate_SANs_do_not_match/);
});
