/** A compiled fault's reading of the caller's x-envoy-fault-* headers, as Envoy reads them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HttpFault } from '../../src/model/fault.js';
import { CompiledFault } from '../../src/proxy/filters/compiled-fault.js';
import type { RequestHead } from '../../src/proxy/http/request-head.js';
import { createRegexEngine } from '../../src/proxy/routing/regex-engine-registry.js';

const ALL = { numerator: 100, denominator: 100 } as const;
const req = (headers: string[]): RequestHead => ({ method: 'GET', path: '/', authority: 'svc', scheme: 'http', headers, remoteAddress: '10.0.0.1' });
const compile = (fault: Partial<HttpFault>): CompiledFault => CompiledFault.of({ headers: [], downstreamNodes: [], ...fault }, createRegexEngine('re2'))!;

test('a header delay is whole milliseconds, capped at what a timer holds; anything else is no delay', () => {
  const f = compile({ delay: { headerDelay: true, percentage: ALL } });
  assert.equal(f.delayMs(req(['x-envoy-fault-delay-request', '250'])), 250);
  assert.equal(f.delayMs(req(['x-envoy-fault-delay-request', '99999999999999'])), 2 ** 31 - 1);
  assert.equal(f.delayMs(req(['x-envoy-fault-delay-request', '1.5'])), 0);
  assert.equal(f.delayMs(req([])), 0);
});

test("the caller's percentage is capped by the configured one; the HTTP status wins over the gRPC one; out of range is no abort", () => {
  const none = compile({ abort: { headerAbort: true, percentage: { numerator: 0, denominator: 100 } } });
  assert.equal(none.abortStatus(req(['x-envoy-fault-abort-request', '503', 'x-envoy-fault-abort-request-percentage', '100'])), undefined);
  const f = compile({ abort: { headerAbort: true, percentage: ALL } });
  assert.equal(f.abortStatus(req(['x-envoy-fault-abort-request', '503', 'x-envoy-fault-abort-request-percentage', '0'])), undefined);
  assert.deepEqual(f.abortStatus(req(['x-envoy-fault-abort-grpc-request', '14', 'x-envoy-fault-abort-request', '503'])), { httpStatus: 503, grpcStatus: undefined });
  assert.deepEqual(f.abortStatus(req(['x-envoy-fault-abort-grpc-request', '14'])), { httpStatus: 200, grpcStatus: 14 });
  assert.equal(f.abortStatus(req(['x-envoy-fault-abort-request', '600'])), undefined);
  assert.equal(f.abortStatus(req(['x-envoy-fault-abort-grpc-request', '17'])), undefined);
});

test('a fault with neither delay nor abort compiles to nothing', () => {
  assert.equal(CompiledFault.of({ headers: [], downstreamNodes: ['a'] }, createRegexEngine('re2')), undefined);
});
