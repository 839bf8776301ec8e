import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grpcMessage, grpcStatusForHttp, grpcStatusIn, isGrpcRequest } from '../../src/proxy/http/grpc-status.js';

test('gRPC requests are told by content-type: application/grpc with +suffix or parameters, not grpc-web', () => {
  assert.equal(isGrpcRequest(['content-type', 'application/grpc']), true);
  assert.equal(isGrpcRequest(['te', 'trailers', 'content-type', 'application/grpc+proto']), true);
  assert.equal(isGrpcRequest(['content-type', 'application/grpc;charset=utf-8']), true);
  assert.equal(isGrpcRequest(['content-type', 'application/grpc-web']), false);
  assert.equal(isGrpcRequest(['content-type', 'application/grpcx']), false);
  assert.equal(isGrpcRequest(['content-type', 'application/json']), false);
  assert.equal(isGrpcRequest([]), false);
});

test('grpc-status is read from a field list; values outside 0..16 read as UNKNOWN, absence as -1', () => {
  assert.equal(grpcStatusIn(['grpc-status', '0', 'grpc-message', 'ok']), 0);
  assert.equal(grpcStatusIn(['x', 'y', 'grpc-status', '16']), 16);
  assert.equal(grpcStatusIn(['grpc-status', '17']), 2);
  assert.equal(grpcStatusIn(['grpc-status', 'abc']), 2);
  assert.equal(grpcStatusIn(['grpc-status', '-1']), 2);
  assert.equal(grpcStatusIn(['content-type', 'application/grpc']), -1);
  assert.equal(grpcStatusIn(undefined), -1);
});

test('HTTP statuses map to gRPC codes as gRPC clients map them', () => {
  assert.deepEqual([400, 401, 403, 404, 429, 502, 503, 504, 500, 418].map(grpcStatusForHttp), [13, 16, 7, 12, 14, 14, 14, 14, 2, 2]);
});

test('grpc-message percent-encodes bytes outside printable ASCII and the percent sign', () => {
  assert.equal(grpcMessage('no healthy upstream'), 'no healthy upstream');
  assert.equal(grpcMessage('100% d\u00e9j\u00e0\n'), '100%25 d%C3%A9j%C3%A0%0A');
});
