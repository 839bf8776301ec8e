/**
 * An HTTP/1.1 upstream whose response head is good and whose first chunk size line is not. When the
 * bad chunk comes in the same read as the head, the head is still held for batching and nothing of
 * the response has reached the client: it gets a 502, as Envoy answers an upstream protocol error
 * before the response began (UPE, upstream_reset_before_response_started{protocol_error}). That
 * client used to get an empty reply (HTTP/1.1) or a 200 and a reset (HTTP/2). When the bad chunk
 * comes in a later read the head has gone out: the response is cut, so the client cannot read it as
 * whole (UPE, upstream_reset_after_response_started{protocol_error}).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { logLineStartingWith } from '../support/log-lines.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { scratchPath } from '../support/scratch-path.js';

const run = promisify(execFile);
const HEAD = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n';
const BAD_CHUNK = 'zz\r\nworld\r\n0\r\n\r\n';
const accessLog = scratchPath('upstream-malformed-chunk.log');
let upstream: net.Server;
let proxy: RunningProxy;
let port: number;

before(async () => {
  // /same/...: head and bad chunk in one write; /later/...: the bad chunk 100 ms after the head.
  upstream = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', (d: Buffer) => {
      const path = d.toString('latin1').split(' ')[1]!;
      if (path.startsWith('/same/')) socket.write(HEAD + BAD_CHUNK);
      else {
        socket.write(HEAD);
        setTimeout(() => !socket.destroyed && socket.write(BAD_CHUNK), 100);
      }
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  const logFormat = { textFormat: '%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n' };
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up' } }]);
  proxy = await startProxy(bootstrap([httpListener('h', port, routes, { accessLog: [{ typedConfig: { path: accessLog, logFormat } }] })], [staticCluster('up', [(upstream.address() as AddressInfo).port])]));
});

after(async () => {
  await proxy?.stop();
  upstream?.close();
});

interface ClientResult {
  /** The status the client read, 0 for none. */
  status: number;
  /** Whether the client saw the response end cleanly (curl exit 0, nghttp without RST_STREAM). */
  clean: boolean;
  body: string;
}

/** The clients a user would point at the proxy: curl over HTTP/1.1 and h2c, and nghttp. */
const CLIENTS: Record<string, (url: string) => Promise<ClientResult>> = {
  'curl-http1.1': (url) => curlGet(['--http1.1'], url),
  'curl-h2c': (url) => curlGet(['--http2-prior-knowledge'], url),
  nghttp: async (url) => {
    const { stdout } = await run('nghttp', ['-v', url], { timeout: 10_000 }).catch((err: { stdout: string }) => err);
    const status = /recv \(stream_id=\d+\) :status: (\d+)/.exec(stdout);
    const reset = /recv RST_STREAM frame/.test(stdout);
    return { status: status ? Number(status[1]) : 0, clean: !reset && /recv DATA frame <[^>]*flags=0x01/.test(stdout), body: stdout };
  },
};

async function curlGet(args: string[], url: string): Promise<ClientResult> {
  const r = await run('curl', ['-s', ...args, '-o', '-', '-w', '\n%{http_code}', url], { timeout: 10_000 }).then(
    (ok) => ({ stdout: ok.stdout, code: 0 }),
    (err: { stdout: string; code: number }) => err,
  );
  const cut = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(cut + 1)), clean: r.code === 0, body: r.stdout.slice(0, cut) };
}

/** Requests counted in istio_requests_total with this response code and these flags. */
async function requestsTotal(code: number, flags: string): Promise<number> {
  const { body } = await proxy.get('/stats/prometheus');
  let sum = 0;
  for (const line of body.split('\n')) {
    if (line.startsWith('istio_requests_total{') && line.includes(`response_code="${code}"`) && line.includes(`response_flags="${flags}"`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

test('a malformed chunk in the read that carried the head: every client gets a 502, logged UPE before the response started', async () => {
  const counted = await requestsTotal(502, 'UPE');
  for (const [name, get] of Object.entries(CLIENTS)) {
    const path = `/same/${name}`;
    const res = await get(`http://127.0.0.1:${port}${path}`);
    assert.equal(res.status, 502, `${name}: ${res.body}`);
    assert.ok(res.clean, `${name}: the 502 did not end cleanly: ${res.body}`);
    assert.match(res.body, /upstream connect error or disconnect\/reset before headers\. reset reason: protocol error/, name);
    assert.equal(await logLineStartingWith(accessLog, `${path} `), `${path} 502 UPE upstream_reset_before_response_started{protocol_error}`);
  }
  assert.equal(await requestsTotal(502, 'UPE'), counted + 3);
});

test('a malformed chunk in a later read: the head has gone out and the response is cut for every client, logged UPE after the response started', async () => {
  const counted = await requestsTotal(200, 'UPE');
  for (const [name, get] of Object.entries(CLIENTS)) {
    const path = `/later/${name}`;
    const res = await get(`http://127.0.0.1:${port}${path}`);
    assert.equal(res.status, 200, `${name}: ${res.body}`);
    assert.ok(!res.clean, `${name}: the cut response read as complete: ${res.body}`);
    assert.equal(await logLineStartingWith(accessLog, `${path} `), `${path} 200 UPE upstream_reset_after_response_started{protocol_error}`);
  }
  assert.equal(await requestsTotal(200, 'UPE'), counted + 3);
});
