import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noReads } from '../../src/telemetry/access-log-reads.js';
import { AccessLogFormatError, compileAccessLogFormat, type TemplateRecord } from '../../src/telemetry/access-log-template.js';

/** Istio's default text access log format (meshConfig.accessLogFormat left empty). */
const ISTIO_TEXT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% ' +
  '%DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" ' +
  '"%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% ' +
  '%DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

const RECORD: TemplateRecord = {
  startTimeMs: Date.UTC(2026, 10, 26, 2, 3, 4, 56),
  method: 'GET',
  path: '/items?id=7',
  protocol: 'HTTP/1.1',
  responseCode: 200,
  responseFlags: '-',
  responseCodeDetails: 'via_upstream',
  bytesReceived: 0,
  bytesSent: 77,
  durationMs: 3.4,
  upstreamServiceTimeMs: 2.6,
  userAgent: 'curl/7.88.1',
  requestId: 'abc-123',
  authority: 'shop.example.com',
  upstreamHost: '10.0.0.7:8080',
  upstreamCluster: 'outbound|80||items',
  downstreamRemoteAddress: '10.0.0.1:51234',
  routeName: 'default',
};
const HEADERS = ['host', 'shop.example.com', 'x-tenant', 'blue', 'user-agent', 'curl/7.88.1'];

test("Istio's default text format gives the line Envoy would write, with - for what is unknown", () => {
  const line = compileAccessLogFormat({ text: ISTIO_TEXT })(RECORD, HEADERS);
  assert.equal(
    line,
    '[2026-11-26T02:03:04.056Z] "GET /items?id=7 HTTP/1.1" 200 - via_upstream - "-" 0 77 3 3 "-" "curl/7.88.1" "abc-123" ' +
      '"shop.example.com" "10.0.0.7:8080" outbound|80||items - - 10.0.0.1:51234 - default',
  );
});

test('JSON formats keep types: numbers stay numbers, unknown values are null, mixed text is text', () => {
  const line = compileAccessLogFormat({
    json: { code: '%RESPONSE_CODE%', tenant: '%REQ(X-TENANT)%', missing: '%REQ(X-NONE)%', route: 'r=%ROUTE_NAME%', ip: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%' },
  })(RECORD, HEADERS);
  assert.deepEqual(JSON.parse(line), { code: 200, tenant: 'blue', missing: null, route: 'r=default', ip: '10.0.0.1' });
});

test('START_TIME takes a strftime subset; REQ takes a fallback header and a length limit; %% is a percent sign', () => {
  const f = compileAccessLogFormat({ text: '%START_TIME(%Y/%m/%d %H:%M:%S.%3f %z)% %REQ(X-MISSING?X-TENANT)% %REQ(USER-AGENT):4% 100%%' });
  assert.equal(f(RECORD, HEADERS), '2026/11/26 02:03:04.056 +0000 blue curl 100%');
});

test('a format declares what it reads beyond the record, so streams keep only that', () => {
  const reads = (text: string) => {
    const r = noReads();
    compileAccessLogFormat({ text }, r);
    return r;
  };
  assert.deepEqual(reads(ISTIO_TEXT), noReads(), "Istio's default format reads nothing more");
  assert.deepEqual(reads('%RESP(CONTENT-TYPE)%'), { ...noReads(), responseHeaders: true, details: true, lineOnly: true });
  assert.deepEqual(reads('%RESPONSE_TRAILER(GRPC-STATUS)%'), { ...noReads(), responseTrailers: true, details: true, lineOnly: true });
  assert.deepEqual(reads('%RESPONSE_TX_DURATION%'), { ...noReads(), timings: true, details: true, lineOnly: true });
  assert.deepEqual(reads('%DOWNSTREAM_TLS_CIPHER%'), { ...noReads(), downstreamTls: true, details: true, lineOnly: true });
  assert.deepEqual(reads('%UPSTREAM_PROTOCOL% %UPSTREAM_REQUEST_ATTEMPT_COUNT%'), { ...noReads(), details: true, lineOnly: true });
  assert.deepEqual(reads('%REQ(:PATH)% %REQ(X-ENVOY-ORIGINAL-PATH)% %CONNECTION_ID%'), { ...noReads(), details: true }, 'the paths sent and the connection are known to header values too');
});

test('operators that cannot be resolved are refused, naming them', () => {
  assert.throws(() => compileAccessLogFormat({ text: '%UPSTREAM_PEER_SUBJECT%' }), (e: unknown) => e instanceof AccessLogFormatError && /%UPSTREAM_PEER_SUBJECT% is not supported/.test(e.message));
  assert.throws(() => compileAccessLogFormat({ text: '%RESP(:PATH)%' }), /%RESP\(:path\)%: unknown pseudo-header/);
  assert.throws(() => compileAccessLogFormat({ text: '%REQUEST_DURATION:3%' }), /%REQUEST_DURATION% does not take any parameters or length/);
  assert.throws(() => compileAccessLogFormat({ text: '%START_TIME(%Q)%' }), /%Q is not a supported time field/);
  assert.throws(() => compileAccessLogFormat({ text: 'oops %BROKEN' }), /malformed command operator/);
});
