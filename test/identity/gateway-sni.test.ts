import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { address, bootstrap, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { bulwark, newStateDir, selfSignedInCustody, startKeyd, type RunningKeyd, custodySniChain } from '../keys/keyd-fixture.js';

// A gateway serving two external hosts, each with its own key in its own token: the certificate is
// chosen by SNI, every handshake signs through keyd, and an unknown name gets no certificate at all.

let state: string;
let keyd: RunningKeyd;
let shopApp: TestUpstream;
let apiApp: TestUpstream;
let gateway: RunningProxy;
let port: number;
const certs: Record<string, string> = {};

before(async () => {
  state = newStateDir();
  // Separate tokens (hence separate PINs) per gateway identity.
  bulwark(['keys', 'generate', '--label', 'shop', '--state-dir', state]);
  bulwark(['keys', 'generate', '--label', 'api', '--state-dir', state]);
  keyd = await startKeyd(state);
  certs.shop = selfSignedInCustody(state, 'shop', 'shop', 'DNS:shop.example.test,DNS:*.shop.example.test');
  certs.api = selfSignedInCustody(state, 'api', 'api', 'DNS:api.example.test');
  shopApp = await startUpstream('shop');
  apiApp = await startUpstream('api');
  port = await freePort();
  const listener = {
    name: 'gateway',
    address: address(port),
    filterChains: [custodySniChain(['shop.example.test', '*.shop.example.test'], certs['shop']!, 'shop', 'shop'), custodySniChain(['api.example.test'], certs['api']!, 'api', 'api')],
  };
  gateway = await startProxy(bootstrap([listener], [staticCluster('shop', [shopApp.port]), staticCluster('api', [apiApp.port])]), { extraArgs: ['--keyd', state] });
});

after(async () => {
  await gateway?.stop();
  await shopApp?.close();
  await apiApp?.close();
  await keyd?.stop();
});

function run(cmd: string, args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 20_000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}

/** The certificate the gateway presents for `serverName`, or undefined when the handshake fails. */
async function servedCertificate(serverName: string): Promise<X509Certificate | undefined> {
  const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', serverName, '-showcerts'], 'Q\n');
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout)?.[0];
  return pem ? new X509Certificate(pem) : undefined;
}

test('the gateway picks the certificate by SNI (exact and wildcard), each key in its own token, and routes to that host', { timeout: 60_000 }, async () => {
  const shop = await servedCertificate('shop.example.test');
  assert.ok(shop, 'a certificate for shop.example.test');
  assert.ok(shop.checkHost('shop.example.test'));
  assert.equal(shop.fingerprint256, new X509Certificate(readFileSync(certs.shop!)).fingerprint256);
  const wildcard = await servedCertificate('eu.shop.example.test');
  assert.equal(wildcard?.fingerprint256, shop.fingerprint256, 'the wildcard name selects the shop chain');
  const api = await servedCertificate('api.example.test');
  assert.ok(api?.checkHost('api.example.test'));
  assert.equal(api?.fingerprint256, new X509Certificate(readFileSync(certs.api!)).fingerprint256);

  // Real clients verify the chain they are given against the host's own certificate.
  for (const [host, cert, app] of [['shop.example.test', certs.shop!, 'shop'], ['api.example.test', certs.api!, 'api']] as const) {
    const r = await run('curl', ['-sS', '--http1.1', '--cacert', cert, '--resolve', `${host}:${port}:127.0.0.1`, `https://${host}:${port}/who`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(app), `${host} reached the ${app} service: ${r.stdout}`);
  }
  // HTTP/2 over ALPN on the same SNI-selected chain.
  const h2 = await run('curl', ['-sS', '--http2', '-o', '/dev/null', '-w', '%{http_version}', '--cacert', certs.api!, '--resolve', `api.example.test:${port}:127.0.0.1`, `https://api.example.test:${port}/`]);
  assert.equal(h2.stdout, '2', h2.stderr);
});

test('an unknown server name, or none, gets no certificate: the handshake is refused and the gateway lives on', { timeout: 60_000 }, async () => {
  assert.equal(await servedCertificate('other.example.test'), undefined);
  const noSni = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-noservername'], 'Q\n');
  assert.doesNotMatch(noSni.stdout, /BEGIN CERTIFICATE/);
  assert.ok(await servedCertificate('api.example.test'), 'still serving after refusals');
  const metrics = await (await fetch(`http://127.0.0.1:${gateway.adminPort}/stats/prometheus`)).text();
  const refused = /bulwark_listener_tls_failures_total\{[^}]*reason="no_filter_chain_match"[^}]*\} (\d+)/.exec(metrics);
  assert.ok(refused && Number(refused[1]) >= 2, `refusals counted: ${metrics.split('\n').filter((l) => l.includes('tls_failures')).join('\n')}`);
  assert.match(gateway.logs(), /no filter chain/);
});

/** An `openssl s_client` handshake for `serverName`, saving its session and resuming `resume` if given; whether it resumed and the certificate sent. */
async function handshake(serverName: string, version: string, sessionOut: string, resume?: string): Promise<{ reused: boolean; served: X509Certificate | undefined }> {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', serverName, version, '-ign_eof', '-sess_out', sessionOut, ...(resume ? ['-sess_in', resume] : [])];
  const r = await run('openssl', args, `GET / HTTP/1.1\r\nhost: ${serverName}\r\nconnection: close\r\n\r\n`);
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout)?.[0];
  return { reused: /^Reused, TLSv1\.[23]/m.test(r.stdout), served: pem ? new X509Certificate(pem) : undefined };
}

test('a returning client resumes its session on the host that made it, with no signature in the token; on the other host it gets a full handshake', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-gateway-sessions-'));
  for (const version of ['-tls1_2', '-tls1_3']) {
    const shopSession = join(dir, `shop${version}.pem`);
    assert.equal((await handshake('shop.example.test', version, shopSession)).reused, false);
    assert.equal((await handshake('eu.shop.example.test', version, join(dir, 'again.pem'), shopSession)).reused, true, `${version}: resumed on the shop chain`);
    const onApi = await handshake('api.example.test', version, join(dir, 'api.pem'), shopSession);
    assert.equal(onApi.reused, false, `${version}: the shop session is not resumed on the api chain`);
    assert.equal(onApi.served?.fingerprint256, new X509Certificate(readFileSync(certs.api!)).fingerprint256);
  }
});
