/**
 * A ClientHello may be fragmented over several handshake records (RFC 8446 §5.1): a hello over one
 * record's 16 KiB (a long ALPN list, large extensions) always is, and some clients cut theirs into
 * small records. The listener joins the records before it picks the filter chain by server name, as
 * Envoy's tls_inspector does (up to 64 KiB), and hands the TLS server the bytes exactly as they came.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { address, bootstrap, routeConfig, staticCluster, tlsTransport } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { captureClientHello, fragmentingConnection, refragmentHandshake, tlsRecords, wireRecords } from '../support/tls-records.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const pki = makePki();
let app: TestUpstream;
let proxy: RunningProxy;
let port: number;
/** The same chains on a listener whose filters timeout is short. */
let slowPort: number;
const FILTERS_TIMEOUT_MS = 500;

before(async () => {
  app = await startUpstream('app');
  port = await freePort();
  const chain = (name: string, serverNames: string[]) => {
    const server = pki.issue(`${name}-server`, `DNS:${name}`);
    return {
      name,
      filterChainMatch: { serverNames },
      ...tlsTransport(server.cert, server.key),
      filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: { statPrefix: name, routeConfig: routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]) } }],
    };
  };
  // The catch-all chain comes first: a hello the listener could not read would land there.
  const chains = [chain('default.test', []), chain('sni.test', ['sni.test'])];
  slowPort = await freePort();
  const listeners = [
    { name: 'gateway', address: address(port), filterChains: chains },
    { name: 'slow', address: address(slowPort), filterChains: chains, listenerFiltersTimeout: `${FILTERS_TIMEOUT_MS}ms` },
  ];
  proxy = await startProxy(bootstrap(listeners, [staticCluster('app', [app.port])]), { extraArgs: ['--insecure-memory-keys'] });
});

after(async () => {
  await proxy?.stop();
  await app?.close();
});

/** An ALPN offer of about `bytes` bytes (names of 200 bytes); http/1.1 last, so the chain still has one it speaks. */
function longAlpnList(bytes: number): string[] {
  const names: string[] = [];
  for (let total = 0; total < bytes; total += 201) names.push(`x-${String(names.length).padStart(4, '0')}-`.padEnd(200, 'a'));
  return [...names, 'http/1.1'];
}

const ONE_RECORD = 16_384;

/** The handshake record payload lengths in the first bytes `client` sends. */
async function helloRecordSizes(client: (port: number) => void): Promise<number[]> {
  return wireRecords(await captureClientHello(client))
    .filter((r) => r.type === 0x16)
    .map((r) => r.payload.length);
}

/** `openssl s_client` against `target`; the subject of the certificate it was served, or undefined when refused. */
function opensslSubject(target: number, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${target}`, ...args], { timeout: 10_000 }, (_err, stdout) => {
      resolve(/^subject=(.*)$/m.exec(stdout)?.[1]);
    });
    child.stdin!.end('Q\n');
  });
}

type Outcome = { subject: string; alpn: string | false | null; reply: string } | { error: string };

/** A node TLS client's handshake and one request; what it was served, or why it failed. */
function nodeClient(options: tls.ConnectionOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(pki.caCert), ...options }, () => {
      const subject = String(s.getPeerCertificate().subject.CN);
      let reply = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => (reply += d));
      s.on('end', () => resolve({ subject, alpn: s.alpnProtocol, reply }));
      s.write(`GET /hello HTTP/1.1\r\nhost: ${options.servername}\r\nconnection: close\r\n\r\n`);
    });
    s.setTimeout(10_000, () => s.destroy(new Error('timed out')));
    s.on('error', (err) => resolve({ error: err.message }));
  });
}

test('openssl s_client -max_send_frag 512 with a long ALPN list: its hello comes in small records and still picks the chain by name', async () => {
  // s_client's usual hello (about 320 bytes) fits in one 512-byte record: a longer ALPN offer makes it fragment.
  const args = ['-servername', 'sni.test', '-max_send_frag', '512', '-alpn', longAlpnList(1500).join(',')];
  const sizes = await helloRecordSizes((p) => {
    execFile('openssl', ['s_client', '-connect', `127.0.0.1:${p}`, ...args], { timeout: 5000 }, () => undefined).stdin!.end();
  });
  assert.ok(sizes.length >= 3 && sizes.every((n) => n <= 512), `the hello is fragmented: records of ${sizes.join(', ')} bytes`);
  assert.equal(await opensslSubject(port, [...args, '-CAfile', pki.caCert]), 'CN = sni.test-server');
  assert.equal(await opensslSubject(port, ['-servername', 'other.test', '-max_send_frag', '512']), 'CN = default.test-server', 'other names still go to the catch-all chain');
});

test('a hello cut into 16-byte records (the server name split over several) picks its chain and completes the handshake', async () => {
  const options = { servername: 'sni.test', ALPNProtocols: ['http/1.1'] };
  const sizes = await helloRecordSizes((p) => tls.connect({ ...options, socket: fragmentingConnection(p, 16) }).on('error', () => undefined));
  assert.ok(sizes.length > 10 && sizes.every((n) => n <= 16), `records of ${sizes.join(', ')} bytes`);
  const served = await nodeClient({ ...options, socket: fragmentingConnection(port, 16) });
  assert.ok('subject' in served, JSON.stringify(served));
  assert.equal(served.subject, 'sni.test-server');
  assert.match(served.reply, /^HTTP\/1\.1 200 /);
});

test('a hello over 16 KiB (a long ALPN list) picks the chain its server name names and completes the handshake', async () => {
  const options = { servername: 'sni.test', ALPNProtocols: longAlpnList(20_000) };
  const sizes = await helloRecordSizes((p) => tls.connect({ host: '127.0.0.1', port: p, ...options }).on('error', () => undefined));
  const total = sizes.reduce((a, b) => a + b, 0);
  assert.ok(total > ONE_RECORD && sizes.length >= 2, `a hello of ${total} bytes in records of ${sizes.join(', ')}`);
  const served = await nodeClient(options);
  assert.ok('subject' in served, JSON.stringify(served));
  assert.equal(served.subject, 'sni.test-server');
  assert.equal(served.alpn, 'http/1.1');
  assert.match(served.reply, /^HTTP\/1\.1 200 /);
});

/**
 * Sends `bytes` (in pieces of `piece` bytes every `everyMs`, when given) and tells how long the proxy
 * took to close the connection (-1: still open after 5 s).
 */
function closedAfter(bytes: Buffer, target = port, dribble?: { piece: number; everyMs: number }): Promise<number> {
  return new Promise((resolve) => {
    const started = Date.now();
    let sending: NodeJS.Timeout | undefined;
    const s = net.connect(target, '127.0.0.1', () => {
      if (dribble === undefined) return s.write(bytes);
      let sent = 0;
      sending = setInterval(() => {
        s.write(bytes.subarray(sent, sent + dribble.piece));
        sent += dribble.piece;
        if (sent >= bytes.length) clearInterval(sending);
      }, dribble.everyMs);
    });
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    s.on('close', () => {
      clearInterval(sending);
      resolve(Date.now() - started);
    });
    setTimeout(() => {
      s.destroy();
      resolve(-1);
    }, 5000);
  });
}

async function handshakeFailures(): Promise<number> {
  const m = /bulwark_listener_tls_failures_total\{listener="gateway",reason="handshake"\} (\d+)/.exec((await proxy.get('/stats/prometheus')).body);
  return Number(m?.[1] ?? 0);
}

test('a hello over 64 KiB, or one that says it is, is refused before any handshake, at once', async () => {
  const before = await handshakeFailures();
  const huge = await nodeClient({ servername: 'sni.test', ALPNProtocols: longAlpnList(65_200) });
  assert.ok('error' in huge, `refused: ${JSON.stringify(huge).slice(0, 200)}`);
  // A handshake header that declares 70 000 bytes: the listener does not wait for them.
  const declared = tlsRecords(0x16, Buffer.from([1, 0x01, 0x11, 0x70, 3, 3]));
  const after = await closedAfter(declared);
  assert.ok(after >= 0 && after < 2000, `closed after ${after} ms`);
  await proxy.waitForLog(/ClientHello too large/);
  assert.equal(await handshakeFailures(), before + 2);
});

test('a record of another type inside the hello is refused at once, and the listener serves the next client', async () => {
  const hello = await captureClientHello((p) => tls.connect({ host: '127.0.0.1', port: p, servername: 'sni.test' }).on('error', () => undefined));
  const body = wireRecords(hello)[0]!.payload;
  const before = await handshakeFailures();
  const interleaved = Buffer.concat([tlsRecords(0x16, body.subarray(0, 50)), tlsRecords(0x17, Buffer.from('data')), tlsRecords(0x16, body.subarray(50))]);
  const after = await closedAfter(interleaved);
  assert.ok(after >= 0 && after < 2000, `closed after ${after} ms`);
  assert.equal(await handshakeFailures(), before + 1, 'counted as a failed handshake');
  const served = await nodeClient({ servername: 'sni.test' });
  assert.ok('subject' in served && served.subject === 'sni.test-server', JSON.stringify(served));
});

test('a client that sends its hello a record at a time is closed once the listener filters timeout has passed since it connected', async () => {
  const hello = await captureClientHello((p) => tls.connect({ host: '127.0.0.1', port: p, servername: 'sni.test' }).on('error', () => undefined));
  // 16-byte records, one every 100 ms: the whole hello would take seconds, each gap is well within the timeout.
  const records = refragmentHandshake(hello, 16);
  const after = await closedAfter(records, slowPort, { piece: 21, everyMs: 100 });
  assert.ok((records.length / 21) * 100 > 2 * FILTERS_TIMEOUT_MS, 'the dribble outlasts the timeout');
  assert.ok(after >= FILTERS_TIMEOUT_MS - 50 && after < FILTERS_TIMEOUT_MS + 1000, `closed after ${after} ms`);
});
