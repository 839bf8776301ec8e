/**
 * TLS session resumption on a listener with several TLS filter chains (a gateway serving several
 * hosts by SNI): a session resumes on the chain that made it, TLS 1.2 and 1.3, named chains and the
 * catch-all alike, so a reconnecting client costs no signature in the key token. A session offered
 * anywhere else gets a full handshake with that chain's certificate and checks, never a failed
 * connection and never a way past another chain's client-certificate check.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { address, bootstrap, routeConfig, staticCluster, tlsTransport } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

type Version = 'TLSv1.2' | 'TLSv1.3';
type KeyPair = { cert: string; key: string };

const mesh = makePki();
const partner = makePki();
const sessions = mkdtempSync(join(tmpdir(), 'bulwark-sessions-'));
/** The mesh chain's trust bundle: a file, so that a test can change it under the running proxy. */
const meshBundle = join(mesh.dir, 'mesh-bundle.pem');
const servers = {
  shop: mesh.issue('shop-server', 'DNS:shop.test'),
  mesh: mesh.issue('mesh-server', 'DNS:mesh.test'),
  admin: mesh.issue('admin-server', 'DNS:admin.test'),
  fallback: mesh.issue('fallback-server', 'DNS:fallback.test'),
};
const meshClient = mesh.issue('mesh-client', 'URI:spiffe://cluster.local/ns/shop/sa/web');
const upstreams: TestUpstream[] = [];
const proxies: RunningProxy[] = [];
let port: number;
let sessionCount = 0;

/** A gateway: shop.test (server TLS only), mesh.test (mutual TLS, mesh CA), admin.test (mutual TLS, partner CA), and a catch-all. */
function gateway(listenerPort: number, clusterPorts: Record<string, number>, extra: Record<string, unknown> = {}): string {
  const chain = (name: string, serverNames: string[] | undefined, tls: Record<string, unknown>) => ({
    name,
    ...(serverNames ? { filterChainMatch: { serverNames } } : {}),
    ...tls,
    filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: { statPrefix: name, routeConfig: routeConfig([{ match: { prefix: '/' }, route: { cluster: name } }]) } }],
  });
  const mtls = (bundle: string) => [{ validationContext: { trustedCa: { filename: bundle } } }, { requireClientCertificate: true }] as const;
  const listener = {
    name: 'gateway',
    address: address(listenerPort),
    ...extra,
    filterChains: [
      chain('shop', ['shop.test'], tlsTransport(servers.shop.cert, servers.shop.key)),
      chain('mesh', ['mesh.test'], tlsTransport(servers.mesh.cert, servers.mesh.key, ...mtls(meshBundle))),
      chain('admin', ['admin.test'], tlsTransport(servers.admin.cert, servers.admin.key, ...mtls(partner.caCert))),
      chain('fallback', undefined, tlsTransport(servers.fallback.cert, servers.fallback.key)),
    ],
  };
  return bootstrap([listener], Object.entries(clusterPorts).map(([name, p]) => staticCluster(name, [p])));
}

before(async () => {
  copyFileSync(mesh.caCert, meshBundle);
  const clusterPorts: Record<string, number> = {};
  for (const name of ['shop', 'mesh', 'admin', 'fallback']) {
    const u = await startUpstream(name);
    upstreams.push(u);
    clusterPorts[name] = u.port;
  }
  port = await freePort();
  proxies.push(await startProxy(gateway(port, clusterPorts), { extraArgs: ['--insecure-memory-keys'] }));
});

after(async () => {
  for (const p of proxies) await p.stop();
  for (const u of upstreams) await u.close();
});

interface Handshake {
  /** openssl's verdict: the session was resumed rather than a full handshake done. */
  reused: boolean;
  /** The certificate the server sent (full handshakes only). */
  served: X509Certificate | undefined;
  /** The upstream that answered the request, '' when the connection was refused. */
  upstream: string;
  /** The file holding the session this connection ended with. */
  session: string;
}

/**
 * One HTTP/1.1 request with `openssl s_client` on a new connection: SNI `serverName` (none when
 * undefined), resuming the session in `resume` if given, presenting `client` if given.
 */
function connect(listenerPort: number, version: Version, serverName: string | undefined, opts: { resume?: string; client?: KeyPair } = {}): Promise<Handshake> {
  const session = join(sessions, `session-${++sessionCount}.pem`);
  const args = ['s_client', '-connect', `127.0.0.1:${listenerPort}`, version === 'TLSv1.2' ? '-tls1_2' : '-tls1_3', '-ign_eof', '-sess_out', session];
  args.push(...(serverName ? ['-servername', serverName] : ['-noservername']));
  if (opts.resume) args.push('-sess_in', opts.resume);
  if (opts.client) args.push('-cert', opts.client.cert, '-key', opts.client.key);
  return new Promise((resolve) => {
    const child = execFile('openssl', args, { timeout: 10_000 }, (_err, stdout) => {
      const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(stdout)?.[0];
      resolve({
        reused: /^Reused, TLSv1\.[23]/m.test(stdout),
        served: pem ? new X509Certificate(pem) : undefined,
        upstream: /HTTP\/1\.1 200 /.test(stdout) ? (/"upstream":"(\w+)"/.exec(stdout)?.[1] ?? '') : '',
        session,
      });
    });
    child.stdin!.end(`GET / HTTP/1.1\r\nhost: ${serverName ?? 'fallback.test'}\r\nconnection: close\r\n\r\n`);
  });
}

function fingerprint(cert: string): string {
  return new X509Certificate(readFileSync(cert)).fingerprint256;
}

/** A session made on a chain by a full handshake, checked to resume there. */
async function resumableSession(version: Version, serverName: string | undefined, upstream: string, client?: KeyPair): Promise<string> {
  const first = await connect(port, version, serverName, { client });
  assert.equal(first.upstream, upstream, `full handshake on ${upstream}`);
  assert.equal(first.reused, false);
  const again = await connect(port, version, serverName, { resume: first.session, client });
  assert.equal(again.upstream, upstream, `resumed on ${upstream}`);
  assert.equal(again.reused, true, `the ${upstream} session resumes with the same server name`);
  return first.session;
}

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  test(`${version}: a session resumes on the chain that made it, on every chain of the gateway`, async () => {
    await resumableSession(version, 'shop.test', 'shop');
    await resumableSession(version, 'mesh.test', 'mesh', meshClient);
    await resumableSession(version, undefined, 'fallback');
    await resumableSession(version, 'unknown.test', 'fallback');
  });

  test(`${version}: a session offered under another chain's server name gets a full handshake and that chain's certificate`, async () => {
    const shop = await resumableSession(version, 'shop.test', 'shop');
    const onFallback = await connect(port, version, undefined, { resume: shop });
    assert.equal(onFallback.reused, false);
    assert.equal(onFallback.upstream, 'fallback');
    assert.equal(onFallback.served?.fingerprint256, fingerprint(servers.fallback.cert));

    const fallback = await resumableSession(version, undefined, 'fallback');
    const onShop = await connect(port, version, 'shop.test', { resume: fallback });
    assert.equal(onShop.reused, false);
    assert.equal(onShop.upstream, 'shop');
    assert.equal(onShop.served?.fingerprint256, fingerprint(servers.shop.cert));

    const onMesh = await connect(port, version, 'mesh.test', { resume: shop, client: meshClient });
    assert.equal(onMesh.reused, false);
    assert.equal(onMesh.upstream, 'mesh', 'the full handshake checks the client certificate and lets it in');
    assert.equal(onMesh.served?.fingerprint256, fingerprint(servers.mesh.cert));
  });

  test(`${version}: a session never takes a client without a certificate past another chain's client-certificate check`, async () => {
    // A session from a chain that checks no client certificate, offered where one is required.
    const shop = await resumableSession(version, 'shop.test', 'shop');
    const shopOnMesh = await connect(port, version, 'mesh.test', { resume: shop });
    assert.equal(shopOnMesh.reused, false);
    assert.equal(shopOnMesh.upstream, '', 'refused: no client certificate');

    // A mutual-TLS session resumes on its own chain without the certificate being sent again...
    const meshSession = await resumableSession(version, 'mesh.test', 'mesh', meshClient);
    const meshAgain = await connect(port, version, 'mesh.test', { resume: meshSession });
    assert.equal(meshAgain.reused, true);
    assert.equal(meshAgain.upstream, 'mesh');
    // ...but not on a mutual-TLS chain that trusts another CA.
    const meshOnAdmin = await connect(port, version, 'admin.test', { resume: meshSession });
    assert.equal(meshOnAdmin.reused, false);
    assert.equal(meshOnAdmin.upstream, '', 'refused: no client certificate');
    const meshCertOnAdmin = await connect(port, version, 'admin.test', { resume: meshSession, client: meshClient });
    assert.equal(meshCertOnAdmin.reused, false);
    assert.equal(meshCertOnAdmin.upstream, '', 'refused: the mesh CA does not vouch for admin.test clients');
  });
}

test('with two worker processes, reconnections resume on their chain whichever worker takes them', async () => {
  const workersPort = await freePort();
  const clusterPorts = Object.fromEntries(upstreams.map((u, i) => [['shop', 'mesh', 'admin', 'fallback'][i]!, u.port]));
  // Round-robin in the primary: each reconnection lands on the other worker than the one before.
  const balanced = { connectionBalanceConfig: { balancer: 'round-robin' } };
  proxies.push(await startProxy(gateway(workersPort, clusterPorts, balanced), { concurrency: 2, extraArgs: ['--insecure-memory-keys'] }));
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    for (const [serverName, upstream, client] of [['shop.test', 'shop', undefined], ['mesh.test', 'mesh', meshClient]] as const) {
      const first = await connect(workersPort, version, serverName, { client });
      assert.equal(first.upstream, upstream);
      let resumed = 0;
      for (let i = 0; i < 8; i++) {
        const again = await connect(workersPort, version, serverName, { resume: first.session, client });
        assert.equal(again.upstream, upstream);
        if (again.reused) resumed++;
      }
      assert.equal(resumed, 8, `${version} ${serverName}: ${resumed} of 8 reconnections resumed`);
    }
  }
});

test('after a reload that changes a chain trust bundle, sessions made under the old bundle do not resume', async () => {
  const proxy = proxies[0]!;
  const sessionsBefore = new Map<Version, string>();
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) sessionsBefore.set(version, await resumableSession(version, 'mesh.test', 'mesh', meshClient));
  // The mesh CA leaves the mesh chain's bundle: its clients are strangers now.
  copyFileSync(partner.caCert, meshBundle);
  await proxy.waitForLog(/certificates reloaded/, 10_000);
  for (const [version, session] of sessionsBefore) {
    const after = await connect(port, version, 'mesh.test', { resume: session });
    assert.equal(after.reused, false, `${version}: the session made under the old bundle is not resumed`);
    assert.equal(after.upstream, '', `${version}: refused`);
  }
});
