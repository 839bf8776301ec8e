/**
 * Access log formats a user brings from Envoy or Istio give the lines Envoy writes for them: the same
 * operators are accepted, and unknown values, types and flags come out as Envoy spells them.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster, address } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { rawExchange } from '../support/raw-http.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { scratchPath } from '../support/scratch-path.js';

/** Istio's default text format (pilot/pkg/model/telemetry_logging.go, EnvoyTextLogFormat), as Istio ships it. */
const ISTIO_TEXT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% ' +
  '%DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" ' +
  '"%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% ' +
  '%DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

/** Istio's default JSON format (EnvoyJSONLogFormatIstio in the same file). */
const ISTIO_JSON = {
  start_time: '%START_TIME%',
  route_name: '%ROUTE_NAME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  response_code_details: '%RESPONSE_CODE_DETAILS%',
  connection_termination_details: '%CONNECTION_TERMINATION_DETAILS%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  user_agent: '%REQ(USER-AGENT)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER_RAW%',
  upstream_local_address: '%UPSTREAM_LOCAL_ADDRESS%',
  downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
  requested_server_name: '%REQUESTED_SERVER_NAME%',
  upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
};

let upstream: TestUpstream;
let tcpEcho: net.Server;
let proxy: RunningProxy;
let port: number;
let tcpPort: number;
let idlePort: number;
const log = (name: string) => scratchPath(`envoy-lines-${name}.log`);

function fileLog(name: string, logFormat: Record<string, unknown>): object {
  return { name: 'envoy.access_loggers.file', typedConfig: { path: log(name), logFormat } };
}

before(async () => {
  upstream = await startUpstream('app');
  tcpEcho = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => tcpEcho.listen(0, '127.0.0.1', r));
  port = await freePort();
  tcpPort = await freePort();
  idlePort = await freePort();
  const routes = routeConfig([
    { match: { prefix: '/tls-failure' }, route: { cluster: 'tls-to-plain' } },
    { match: { prefix: '/unnamed' }, route: { cluster: 'app' } },
    { name: 'to-app', match: { prefix: '/' }, route: { cluster: 'app' } },
  ]);
  // TLS to a plain HTTP server: the handshake fails, with a reason whose words are separated by spaces.
  const tlsToPlain = staticCluster('tls-to-plain', [upstream.port], { transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { sni: 'localhost' } } });
  const hcm = {
    accessLog: [
      fileLog('istio', { textFormatSource: { inlineString: ISTIO_TEXT } }),
      fileLog('istio-json', { jsonFormat: ISTIO_JSON }),
      { name: 'envoy.access_loggers.file', typedConfig: { path: log('builtin') } },
      fileLog('omit-text', { textFormat: 'mark=%REQ(X-MARK)% missing=%REQ(X-MISSING)%\n', omitEmptyValues: true }),
      fileLog('omit-json', { jsonFormat: { mark: '%REQ(X-MARK)%', missing: '%REQ(X-MISSING)%', mixed: 'm=%REQ(X-MISSING)%' }, omitEmptyValues: true }),
      fileLog('empty-text', { textFormat: '%REQ(X-MARK)% [%REQ(X-EMPTY)%] [%REQ(X-MISSING)%] [%REQ(X-EMPTY?X-MARK)%]\n' }),
      fileLog('nested', { jsonFormat: { request: { method: '%REQ(:METHOD)%', mark: '%REQ(X-MARK)%', missing: '%REQ(X-MISSING)%' }, codes: ['%RESPONSE_CODE%', 'literal'], version: 2, sampled: true } }),
      { typedConfig: { path: log('legacy-json'), jsonFormat: { code: '%RESPONSE_CODE%', mark: '%REQ(X-MARK)%', missing: '%REQ(X-MISSING)%' } } },
      { typedConfig: { path: log('legacy-typed'), typedJsonFormat: { code: '%RESPONSE_CODE%', mark: '%REQ(X-MARK)%', missing: '%REQ(X-MISSING)%' } } },
      {
        name: 'envoy.access_loggers.stderr',
        typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog', logFormat: { textFormat: 'stderr-line %REQ(X-MARK)%\n' } },
      },
      fileLog('bytes', { jsonFormat: { mark: '%REQ(X-MARK)%', tenant: '%REQ(X-TENANT)%' } }),
      fileLog('limits', { textFormat: '%REQ(X-MARK)% [%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME):0%] [%REQ(X-MARK):3%]\n' }),
      fileLog('unicode', { textFormat: 'résumé → %REQ(X-MARK)%\n' }),
      fileLog('typed', { jsonFormat: { mark: '%REQ(X-MARK)%', empty: '%REQ(X-EMPTY)%', missing: '%REQ(X-MISSING)%', duration: '%DURATION%', service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%' } }),
    ],
  };
  const tcpLog = fileLog('tcp', { textFormat: '%DOWNSTREAM_LOCAL_ADDRESS% %PROTOCOL% %RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_CLUSTER_RAW%\n' });
  const tcpListener = (name: string, listenPort: number, tcpProxy: Record<string, unknown>) => ({
    name,
    address: address(listenPort),
    filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: name, accessLog: [tcpLog], ...tcpProxy } }] }],
  });
  proxy = await startProxy(
    bootstrap(
      [
        httpListener('h', port, routes, hcm),
        tcpListener('t', tcpPort, { cluster: 'echo' }),
        tcpListener('idle', idlePort, { cluster: 'echo', idleTimeout: '0.3s' }),
      ],
      [staticCluster('app', [upstream.port]), tlsToPlain, staticCluster('echo', [(tcpEcho.address() as AddressInfo).port])],
    ),
  );
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
  tcpEcho?.close();
});

/** The last line of a log that `pred` accepts, waiting for the writer's next flush. */
async function lastLine(name: string, pred: (l: string) => boolean): Promise<string> {
  for (let i = 0; i < 100; i++) {
    try {
      const hit = readFileSync(log(name), 'latin1').split('\n').filter(pred).pop();
      if (hit !== undefined) return hit;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no matching line in ${log(name)}`);
}

test("Istio's default text format (with %UPSTREAM_CLUSTER_RAW%) is accepted and gives Envoy's line", async () => {
  const res = await curl(['-H', 'user-agent: lines-test', `http://127.0.0.1:${port}/istio?x=1`]);
  assert.equal(res.status, 200);
  const line = await lastLine('istio', (l) => l.includes('/istio?x=1'));
  const at = `127\\.0\\.0\\.1`;
  assert.match(
    line,
    new RegExp(
      `^\\[\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\] "GET /istio\\?x=1 HTTP/1\\.1" 200 - via_upstream - "-" 0 \\d+ \\d+ \\d+ "-" "lines-test" "[0-9a-f-]{36}" ` +
        `"${at}:${port}" "${at}:${upstream.port}" app ${at}:\\d+ ${at}:${port} ${at}:\\d+ - to-app$`,
    ),
  );
});

test("Istio's default JSON format is accepted and keeps Envoy's types", async () => {
  assert.equal((await curl([`http://127.0.0.1:${port}/istio-json`])).status, 200);
  const line = JSON.parse(await lastLine('istio-json', (l) => l.includes('/istio-json'))) as Record<string, unknown>;
  assert.deepEqual(Object.keys(line), Object.keys(ISTIO_JSON));
  assert.equal(line.response_code, 200);
  assert.equal(typeof line.duration, 'number');
  assert.equal(typeof line.upstream_service_time, 'string');
  assert.equal(line.upstream_cluster, 'app');
  assert.equal(line.route_name, 'to-app');
  assert.deepEqual([line.x_forwarded_for, line.requested_server_name, line.upstream_transport_failure_reason], [null, null, null]);
});

test('%ROUTE_NAME% of a route without a name is "-", as in Envoy', async () => {
  assert.equal((await curl([`http://127.0.0.1:${port}/unnamed`])).status, 200);
  assert.match(await lastLine('istio', (l) => l.includes('/unnamed')), / app \S+ \S+ \S+ - -$/);
});

test('%UPSTREAM_TRANSPORT_FAILURE_REASON% has its spaces as underscores, as Envoy writes it', async () => {
  assert.equal((await curl([`http://127.0.0.1:${port}/tls-failure`])).status, 503);
  const line = await lastLine('istio', (l) => l.includes('/tls-failure'));
  assert.match(line, /" 503 UF \S+ - "TLS_error:_[^" ]+" /);
  const builtin = JSON.parse(await lastLine('builtin', (l) => l.includes('/tls-failure'))) as { upstream_transport_failure_reason: string };
  assert.match(builtin.upstream_transport_failure_reason, /^TLS_error:_[^ ]+$/);
});

test('%DURATION% is whole milliseconds truncated, as Envoy and the built-in layout write it', async () => {
  for (let i = 0; i < 12; i++) {
    const mark = `duration-${i}`;
    assert.equal((await curl(['-H', `x-mark: ${mark}`, `http://127.0.0.1:${port}/${mark}`])).status, 200);
    const typed = JSON.parse(await lastLine('typed', (l) => l.includes(`"${mark}"`))) as { duration: number };
    const builtin = JSON.parse(await lastLine('builtin', (l) => l.includes(`/${mark}"`))) as { duration: number };
    assert.equal(typed.duration, builtin.duration, `request ${i}`);
  }
});

test('%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% is the header as sent: a string in a JSON format, as every header is in Envoy', async () => {
  const res = await curl(['-H', 'x-mark: service-time', `http://127.0.0.1:${port}/service-time`]);
  const line = JSON.parse(await lastLine('typed', (l) => l.includes('"service-time"'))) as { service_time: unknown };
  assert.equal(line.service_time, res.headers['x-envoy-upstream-service-time']);
});

test('a request header sent empty is logged as empty ("" in JSON), not as unknown, and %REQ(X?Y)% does not fall back from it', async () => {
  assert.equal((await curl(['-H', 'x-mark: empty-header', '-H', 'x-empty;', `http://127.0.0.1:${port}/empty-header`])).status, 200);
  assert.equal(await lastLine('empty-text', (l) => l.startsWith('empty-header ')), 'empty-header [] [-] []');
  const line = JSON.parse(await lastLine('typed', (l) => l.includes('"empty-header"'))) as { empty: unknown; missing: unknown };
  assert.deepEqual([line.empty, line.missing], ['', null]);
});

test('a JSON format keeps nested objects, lists, numbers and booleans, with operators inside them', async () => {
  assert.equal((await curl(['-H', 'x-mark: nested', `http://127.0.0.1:${port}/nested`])).status, 200);
  assert.deepEqual(JSON.parse(await lastLine('nested', (l) => l.includes('"nested"'))), {
    request: { method: 'GET', mark: 'nested', missing: null },
    codes: [200, 'literal'],
    version: 2,
    sampled: true,
  });
});

test("FileAccessLog's deprecated jsonFormat writes every value as a string (unknown \"-\"); typedJsonFormat keeps types", async () => {
  assert.equal((await curl(['-H', 'x-mark: legacy', `http://127.0.0.1:${port}/legacy`])).status, 200);
  assert.deepEqual(JSON.parse(await lastLine('legacy-json', (l) => l.includes('"legacy"'))), { code: '200', mark: 'legacy', missing: '-' });
  assert.deepEqual(JSON.parse(await lastLine('legacy-typed', (l) => l.includes('"legacy"'))), { code: 200, mark: 'legacy', missing: null });
});

test("Envoy's StderrAccessLog writes its lines to the proxy's stderr", async () => {
  assert.equal((await curl(['-H', 'x-mark: to-stderr', `http://127.0.0.1:${port}/to-stderr`])).status, 200);
  await proxy.waitForLog(/^stderr-line to-stderr$/m);
  assert.doesNotMatch(proxy.stdout(), /stderr-line/);
});

test('a JSON format line is valid UTF-8: header bytes that are not UTF-8 are \\u00XX escapes, UTF-8 ones are kept', async () => {
  const send = (mark: string, tenant: string) =>
    rawExchange(port, `GET /bytes HTTP/1.1\r\nhost: a\r\nx-mark: ${mark}\r\nx-tenant: ${tenant}\r\nconnection: close\r\n\r\n`, (r) => r.includes('\r\n\r\n'));
  await send('bytes-latin1', 'caf\xe9');
  await send('bytes-utf8', 'caf\xc3\xa9');
  await lastLine('bytes', (l) => l.includes('bytes-utf8'));
  const lines = readFileSync(log('bytes')).toString('latin1').split('\n');
  const latin1 = Buffer.from(lines.find((l) => l.includes('bytes-latin1'))!, 'latin1');
  const utf8 = Buffer.from(lines.find((l) => l.includes('bytes-utf8'))!, 'latin1');
  assert.ok(isUtf8(latin1) && isUtf8(utf8));
  assert.equal(latin1.toString(), '{"mark":"bytes-latin1","tenant":"caf\\u00e9"}');
  assert.equal(utf8.toString(), '{"mark":"bytes-utf8","tenant":"café"}');
});

test('%RESP(...):N% is cut to N characters as %REQ(...):N% is', async () => {
  assert.equal((await curl(['-H', 'x-mark: limits', `http://127.0.0.1:${port}/limits`])).status, 200);
  assert.equal(await lastLine('limits', (l) => l.startsWith('limits ')), 'limits [] [lim]');
});

test("a text format's own non-ASCII text is written as its UTF-8 bytes", async () => {
  assert.equal((await curl(['-H', 'x-mark: unicode', `http://127.0.0.1:${port}/unicode`])).status, 200);
  await lastLine('unicode', (l) => l.endsWith(' unicode'));
  assert.ok(readFileSync(log('unicode'), 'utf8').split('\n').includes('résumé → unicode'));
});

test('omitEmptyValues writes an unknown value as nothing in text and leaves its key out of JSON', async () => {
  assert.equal((await curl(['-H', 'x-mark: omit', `http://127.0.0.1:${port}/omit`])).status, 200);
  assert.equal(await lastLine('omit-text', (l) => l.startsWith('mark=omit ')), 'mark=omit missing=');
  assert.deepEqual(JSON.parse(await lastLine('omit-json', (l) => l.includes('"omit"'))), { mark: 'omit', mixed: 'm=' });
});

/** Opens a connection, sends a byte, and resolves when the proxy closes it or after `holdMs` of echo. */
function tcpSession(listenPort: number, closeAfterEcho: boolean): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(listenPort, '127.0.0.1', () => socket.write('x'));
    socket.on('data', () => closeAfterEcho && socket.end());
    socket.once('close', () => resolve());
    socket.on('error', () => undefined);
  });
}

test('a TCP connection logs %PROTOCOL% as "-" and %RESPONSE_CODE% as 0, as Envoy does', async () => {
  await tcpSession(tcpPort, true);
  assert.equal(await lastLine('tcp', (l) => l.startsWith(`127.0.0.1:${tcpPort} `)), `127.0.0.1:${tcpPort} - 0 - echo`);
});

test('a TCP session closed by its idle timeout logs no response flag (Envoy has none for it)', async () => {
  await tcpSession(idlePort, false);
  assert.equal(await lastLine('tcp', (l) => l.startsWith(`127.0.0.1:${idlePort} `)), `127.0.0.1:${idlePort} - 0 - echo`);
});
