/**
 * Envoy's address, protocol and host operators: %UPSTREAM_REMOTE_ADDRESS% and the _WITHOUT_PORT and
 * _PORT forms of each connection address, %UPSTREAM_PROTOCOL%, %HOSTNAME% and %ENVIRONMENT(X)%, over
 * HTTP/1.1 and HTTP/2 to HTTP/1.1 and HTTP/2 upstreams, and on a TCP connection.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { after, before, test } from 'node:test';
import { address, bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { logLineStartingWith, keyValueFields } from '../support/log-lines.js';
import { scratchPath } from '../support/scratch-path.js';

let h1: TestUpstream;
let h2: http2.Http2Server;
let h2Port: number;
let tcpEcho: net.Server;
let proxy: RunningProxy;
let port: number;
let tcpPort: number;
let deadPort: number;
const logPath = (name: string) => scratchPath(`access-conn-${name}.log`);

const ADDRESSES =
  'up=%UPSTREAM_REMOTE_ADDRESS% upip=%UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% upport=%UPSTREAM_REMOTE_PORT% ' +
  'uplocalip=%UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% uplocalport=%UPSTREAM_LOCAL_PORT% ' +
  'dlocalip=%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% dlocalport=%DOWNSTREAM_LOCAL_PORT% dport=%DOWNSTREAM_REMOTE_PORT% ddport=%DOWNSTREAM_DIRECT_REMOTE_PORT% ' +
  'host=%HOSTNAME% env=%ENVIRONMENT(BULWARK_ACCESS_LOG_TEST):4% noenv=%ENVIRONMENT(BULWARK_ACCESS_LOG_UNSET)% conn=%CONNECTION_ID%';

before(async () => {
  // Each upstream says which port the proxy connected from, so the log can be checked against it.
  h1 = await startUpstream('h1', (req, res) => {
    res.writeHead(200, { 'x-peer-port': String(req.socket.remotePort) });
    res.end('h1');
  });
  h2 = http2.createServer((req, res) => {
    res.writeHead(200, { 'x-peer-port': String(req.socket.remotePort) });
    res.end('h2');
  });
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
  h2Port = (h2.address() as AddressInfo).port;
  tcpEcho = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => tcpEcho.listen(0, '127.0.0.1', r));
  [port, tcpPort, deadPort] = [await freePort(), await freePort(), await freePort()];
  const hcm = {
    accessLog: [
      { typedConfig: { path: logPath('text'), logFormat: { textFormat: `%REQ(X-MARK)% proto=%UPSTREAM_PROTOCOL% ${ADDRESSES}\n` } } },
      { typedConfig: { path: logPath('json'), logFormat: { jsonFormat: { mark: '%REQ(X-MARK)%', port: '%DOWNSTREAM_REMOTE_PORT%', upstream_port: '%UPSTREAM_REMOTE_PORT%', protocol: '%UPSTREAM_PROTOCOL%' } } } },
      { typedConfig: { path: logPath('ids'), logFormat: { jsonFormat: { mark: '%REQ(X-MARK)%', path: '%REQ(:PATH)%', connection: '%CONNECTION_ID%' } } } },
    ],
  };
  const routes = routeConfig([
    { match: { prefix: '/h2' }, route: { cluster: 'h2' } },
    { match: { prefix: '/dead' }, route: { cluster: 'dead' } },
    { match: { prefix: '/' }, route: { cluster: 'h1' } },
  ]);
  const tcpLog = { typedConfig: { path: logPath('tcp'), logFormat: { textFormat: `tcp proto=%UPSTREAM_PROTOCOL% ${ADDRESSES}\n` } } };
  proxy = await startProxy(
    bootstrap(
      [
        httpListener('h', port, routes, hcm),
        { name: 't', address: address(tcpPort), filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: 't', cluster: 'echo', accessLog: [tcpLog] } }] }] },
      ],
      [
        staticCluster('h1', [h1.port]),
        staticCluster('h2', [h2Port], { http2ProtocolOptions: {} }),
        staticCluster('dead', [deadPort]),
        staticCluster('echo', [(tcpEcho.address() as AddressInfo).port]),
      ],
    ),
    { env: { BULWARK_ACCESS_LOG_TEST: 'from-the-environment' } },
  );
});

after(async () => {
  await proxy?.stop();
  await h1?.close();
  h2?.close();
  tcpEcho?.close();
  for (const name of ['text', 'json', 'tcp', 'ids']) rmSync(logPath(name), { force: true });
});

function lineWith(name: string, marker: string): Promise<string> {
  return logLineStartingWith(logPath(name), marker);
}


for (const [downstream, flag] of [['HTTP/1.1', '--http1.1'], ['HTTP/2', '--http2-prior-knowledge']] as const) {
  for (const [upstreamProtocol, path, upstreamPort] of [['HTTP/1.1', '/h1', () => h1.port], ['HTTP/2', '/h2', () => h2Port]] as const) {
    test(`${downstream} to an ${upstreamProtocol} upstream: the connections' addresses, ports and the upstream protocol`, async () => {
      const mark = `conn-${downstream}-${upstreamProtocol}`.replaceAll('/', '');
      // curl's -w appends the port it connected from to the body.
      const res = await curl([flag, '-H', `x-mark: ${mark}`, '-w', '|%{local_port}', `http://127.0.0.1:${port}${path}`]);
      assert.equal(res.status, 200);
      const clientPort = res.body.split('|')[1];
      const f = keyValueFields(await lineWith('text', mark));
      assert.deepEqual(
        { proto: f['proto'], up: f['up'], upip: f['upip'], upport: f['upport'], uplocalip: f['uplocalip'], uplocalport: f['uplocalport'] },
        { proto: upstreamProtocol, up: `127.0.0.1:${upstreamPort()}`, upip: '127.0.0.1', upport: String(upstreamPort()), uplocalip: '127.0.0.1', uplocalport: res.headers['x-peer-port'] },
      );
      assert.deepEqual(
        { dlocalip: f['dlocalip'], dlocalport: f['dlocalport'], dport: f['dport'], ddport: f['ddport'] },
        { dlocalip: '127.0.0.1', dlocalport: String(port), dport: clientPort, ddport: clientPort },
      );
      assert.deepEqual([f['host'], f['env'], f['noenv']], [hostname(), 'from', '-']);
      const json = JSON.parse(await lineWith('json', `{"mark":"${mark}"`)) as Record<string, unknown>;
      assert.deepEqual(json, { mark, port: Number(clientPort), upstream_port: upstreamPort(), protocol: upstreamProtocol }, 'ports are numbers in JSON, as Envoy renders them');
    });
  }
}

/** Runs nghttp (HTTP/2 with prior knowledge): all its URLs go as streams of one connection. */
function nghttp(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => execFile('nghttp', ['-n', ...args], { timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
}

for (const protocol of ['HTTP/1.1', 'HTTP/2'] as const) {
  test(`${protocol}: %CONNECTION_ID% is the same for requests on one connection and differs between connections`, async () => {
    const mark = `ids-${protocol === 'HTTP/2' ? 'h2' : 'h1'}`;
    const url = (n: number) => `http://127.0.0.1:${port}/h1?n=${n}`;
    // One client run sends both URLs on its connection (curl keeps it alive, nghttp multiplexes); the second run opens another.
    const run = (urls: string[]) => (protocol === 'HTTP/2' ? nghttp(['-H', `x-mark: ${mark}`, ...urls]) : curl(['--http1.1', '-H', `x-mark: ${mark}`, ...urls]));
    await run([url(1), url(2)]);
    await run([url(3)]);
    const ids = new Map<string, unknown>();
    for (const n of ['1', '2', '3']) {
      const line = JSON.parse(await lineWith('ids', `{"mark":"${mark}","path":"/h1?n=${n}"`)) as Record<string, unknown>;
      ids.set(n, line['connection']);
    }
    assert.equal(typeof ids.get('1'), 'number', 'a number in JSON, as Envoy renders it');
    assert.equal(ids.get('1'), ids.get('2'));
    assert.notEqual(ids.get('1'), ids.get('3'));
  });
}

test('an upstream never connected to has no remote address or protocol, though a host was chosen', async () => {
  const res = await curl(['-H', 'x-mark: conn-dead', `http://127.0.0.1:${port}/dead`]);
  assert.equal(res.status, 503);
  const f = keyValueFields(await lineWith('text', 'conn-dead'));
  assert.deepEqual([f['proto'], f['up'], f['upip'], f['upport'], f['uplocalport']], ['-', '-', '-', '-', '-']);
});

test('on a TCP connection the addresses are the same operators, and the upstream protocol is unknown', async () => {
  let clientPort = 0;
  await new Promise<void>((resolve, reject) => {
    const s = net.connect(tcpPort, '127.0.0.1', () => {
      clientPort = s.localPort!;
      s.write('ping');
    });
    s.once('data', () => s.end());
    s.on('close', () => resolve());
    s.on('error', reject);
  });
  const f = keyValueFields(await lineWith('tcp', 'tcp'));
  const echoPort = (tcpEcho.address() as AddressInfo).port;
  assert.deepEqual([f['proto'], f['up'], f['upport'], f['dport'], f['dlocalport']], ['-', `127.0.0.1:${echoPort}`, String(echoPort), String(clientPort), String(tcpPort)]);
  assert.match(f['conn']!, /^\d+$/, 'a TCP connection is numbered too');
});
