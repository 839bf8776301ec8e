/**
 * TLS origination never takes an upstream certificate unchecked: a cluster with a transport socket but
 * no trustedCa still verifies the server (against Node's public roots), so a self-signed or privately
 * issued certificate is refused with 503 UF and the reason in the access log.
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
let proxy: RunningProxy;
let port: number;

before(async () => {
  const c = privateCa.issue('app', 'DNS:localhost');
  app = https.createServer({ cert: readFileSync(c.cert), key: readFileSync(c.key) }, (_req, res) => res.end('reached'));
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  port = await freePort();
  const appPort = (app.address() as AddressInfo).port;
  const tlsNoCa = { transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { sni: 'localhost' } } };
  const tlsWithCa = { transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { sni: 'localhost', commonTlsContext: { validationContext: { trustedCa: { filename: privateCa.caCert } } } } } };
  proxy = await startProxy(
    bootstrap(
      [
        httpListener('outbound', port, routeConfig([
          { match: { prefix: '/unverified' }, route: { cluster: 'no-ca' } },
          { match: { prefix: '/verified' }, route: { cluster: 'with-ca' } },
        ]), { accessLog: [{ typedConfig: { path: accessLog } }] }),
      ],
      [staticCluster('no-ca', [appPort], tlsNoCa), staticCluster('with-ca', [appPort], tlsWithCa)],
    ),
  );
});

after(async () => {
  await proxy?.stop();
  app?.close();
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
