/**
 * TLS passed through by server name, without terminating it: Envoy's tls_inspector and filter chain
 * match, as Istio writes them for PASSTHROUGH gateways and outbound :443 listeners. The proxy reads
 * SNI and ALPN from the ClientHello, picks the chain (exact name, longest wildcard, then transport
 * and application protocols), and pipes the untouched bytes to that chain's cluster.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { readClientHello } from '../../src/proxy/listeners/client-hello.js';
import { bootstrap, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki, pem } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { scratchPath } from '../support/scratch-path.js';

const pki = makePki();
const servers: https.Server[] = [];
let plain: TestUpstream;
let proxy: RunningProxy;
let port: number;

async function tlsUpstream(name: string, sans: string): Promise<number> {
  const cert = pki.issue(name, sans);
  const server = https.createServer({ cert: pem(cert.cert), key: pem(cert.key) }, (_req, res) => res.end(`served by ${name}`));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

const accessLog = scratchPath('passthrough.log');
const tcpChain = (cluster: string, match: object) => ({
  filterChainMatch: match,
  filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: cluster, cluster, accessLog: [{ typedConfig: { path: accessLog } }] } }],
});

before(async () => {
  const a = await tlsUpstream('alpha', 'DNS:a.example.com');
  const wild = await tlsUpstream('wild', 'DNS:*.example.com');
  const h2only = await tlsUpstream('h2only', 'DNS:grpc.example.com');
  plain = await startUpstream('plain');
  port = await freePort();
  const listener = {
    name: 'passthrough',
    address: { socketAddress: { address: '127.0.0.1', portValue: port } },
    filterChains: [
      tcpChain('wild', { serverNames: ['*.example.com'], transportProtocol: 'tls' }),
      tcpChain('alpha', { serverNames: ['a.example.com'], transportProtocol: 'tls' }),
      tcpChain('h2only', { serverNames: ['grpc.example.com'], transportProtocol: 'tls', applicationProtocols: ['h2'] }),
      {
        // As Istio writes an inbound plaintext HTTP chain: matched by what http_inspector sees.
        filterChainMatch: { transportProtocol: 'raw_buffer', applicationProtocols: ['http/1.0', 'http/1.1', 'h2c'] },
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typedConfig: { statPrefix: 'plain', routeConfig: routeConfig([{ match: { prefix: '/' }, route: { cluster: 'plain' } }]) },
          },
        ],
      },
    ],
  };
  proxy = await startProxy(bootstrap([listener], [staticCluster('alpha', [a]), staticCluster('wild', [wild]), staticCluster('h2only', [h2only]), staticCluster('plain', [plain.port])]));
});

after(async () => {
  await proxy?.stop();
  for (const s of servers) s.close();
  await plain?.close();
  rmSync(accessLog, { force: true });
});

const viaName = (name: string, extra: string[] = []) => curl([...extra, '--cacert', pki.caCert, '--resolve', `${name}:${port}:127.0.0.1`, `https://${name}:${port}/`]);

test('TLS goes through to the upstream its server name picks, exact before wildcard, still end to end', async () => {
  assert.equal((await viaName('a.example.com')).body, 'served by alpha');
  assert.equal((await viaName('b.example.com')).body, 'served by wild');
});

test('a ClientHello over 16 KiB (a long ALPN offer, in two records) goes through to the upstream its server name picks', async () => {
  const alpn = [...Array.from({ length: 100 }, (_, i) => `x-${i}-`.padEnd(200, 'a')), 'http/1.1'];
  const body = await new Promise<string>((resolve, reject) => {
    const options = { host: '127.0.0.1', port, servername: 'a.example.com', ca: readFileSync(pki.caCert), ALPNProtocols: alpn, agent: false };
    https
      .get(options, (res) => {
        let got = '';
        res.on('data', (d: Buffer) => (got += d.toString()));
        res.on('end', () => resolve(got));
      })
      .on('error', reject);
  });
  assert.equal(body, 'served by alpha');
});

test('the access log names the server the client asked for, and both connections\' ends', async () => {
  assert.equal((await viaName('sni-logged.example.com')).body, 'served by wild');
  let line: Record<string, unknown> | undefined;
  for (let i = 0; i < 60 && line === undefined; i++) {
    await new Promise((r) => setTimeout(r, 50));
    line = (existsSync(accessLog) ? readFileSync(accessLog, 'utf8') : '')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.requested_server_name === 'sni-logged.example.com');
  }
  assert.ok(line, 'a TCP line with the SNI');
  assert.equal(line.protocol, 'TCP');
  assert.equal(line.upstream_cluster, 'wild');
  assert.equal(line.downstream_local_address, `127.0.0.1:${port}`);
  assert.match(String(line.downstream_remote_address), /^127\.0\.0\.1:\d+$/);
  assert.match(String(line.upstream_local_address), /^127\.0\.0\.1:\d+$/);
});

test('application protocols narrow the choice: a chain that lists h2 takes only clients that offer it', async () => {
  const h2 = await viaName('grpc.example.com', ['--http2']);
  assert.equal(h2.body, 'served by h2only');
  // Offering only http/1.1, nothing under the exact name matches, and the choice does not fall back
  // to a less specific name (Envoy matches level by level): the connection is closed.
  await assert.rejects(viaName('grpc.example.com', ['--http1.1']), /curl failed/);
});

test('plaintext HTTP on the same port takes the raw_buffer chain; other bytes, and a TLS name no chain serves, are closed', async () => {
  const r = await curl([`http://127.0.0.1:${port}/plain`]);
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).upstream, 'plain');
  const h2c = await curl(['--http2-prior-knowledge', `http://127.0.0.1:${port}/plain`]);
  assert.equal(h2c.status, 200);
  assert.equal(h2c.httpVersion, '2');
  const notHttp = await new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('SSH-2.0-OpenSSH_9.2\r\n'));
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('close', () => resolve(`closed ${JSON.stringify(got)}`));
    s.on('error', () => undefined);
  });
  assert.equal(notHttp, 'closed ""');
  await assert.rejects(viaName('other.test'), /curl failed/);
  const metrics = (await proxy.get('/stats/prometheus')).body;
  // Two refusals by now: other.test here, and the http/1.1-only client of the test before.
  assert.match(metrics, /bulwark_listener_tls_failures_total\{listener="passthrough",reason="no_filter_chain_match"\} 2/);
});

/** The ClientHello openssl s_client sends for `serverName` (and h2, http/1.1), as the listener reads it. */
function capturedHello(serverName: string): Promise<Buffer> {
  return new Promise<Buffer>((resolve) => {
    const server = net.createServer((s) => {
      let got = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (readClientHello(got) !== 'incomplete') {
          resolve(got);
          s.destroy();
          server.close();
        }
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const p = (server.address() as AddressInfo).port;
      // Not execFileSync: the server must read the hello while s_client waits for an answer.
      // s_client fails once the server hangs up: only the hello matters.
      execFile('openssl', ['s_client', '-connect', `127.0.0.1:${p}`, '-servername', serverName, '-alpn', 'h2,http/1.1'], { timeout: 5000 }, () => undefined).stdin?.end();
    });
  });
}

test('the ClientHello reader finds SNI and ALPN in a real hello, waits for one split across reads, and tells other bytes apart', async () => {
  const captured = await capturedHello('Api.Example.COM');
  assert.deepEqual(readClientHello(captured), { serverName: 'api.example.com', alpn: ['h2', 'http/1.1'] });
  assert.equal(readClientHello(captured.subarray(0, 3)), 'incomplete');
  assert.equal(readClientHello(captured.subarray(0, captured.length - 1)), 'incomplete');
  assert.equal(readClientHello(Buffer.from('GET / HTTP/1.1\r\n')), 'not-tls');
  // The same handshake message cut into two records, as a client may send it.
  const body = captured.subarray(5, 5 + captured.readUInt16BE(3));
  const record = (b: Buffer) => Buffer.concat([Buffer.from([0x16, 3, 1, b.length >> 8, b.length & 0xff]), b]);
  const split = Buffer.concat([record(body.subarray(0, 40)), record(body.subarray(40))]);
  assert.deepEqual(readClientHello(split), { serverName: 'api.example.com', alpn: ['h2', 'http/1.1'] });
  const broken = Buffer.from(captured);
  broken[5] = 2; // a ServerHello, not a ClientHello
  assert.equal(readClientHello(broken), 'malformed');
});

test('the ClientHello reader keeps a server name with an underscore, as OpenSSL does', async () => {
  // Names such as my_service.internal are common in internal DNS; the reader used to drop them, so such a
  // client fell to the catch-all chain or was refused.
  assert.deepEqual(readClientHello(await capturedHello('My_Service.internal')), { serverName: 'my_service.internal', alpn: ['h2', 'http/1.1'] });
});
