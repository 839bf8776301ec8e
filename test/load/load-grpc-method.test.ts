import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FortioGrpcResult } from '../../src/load/fortio-json.js';
import { bulwark, startEcho, type RunningEcho } from './load-support.js';

let echo: RunningEcho;

before(async () => {
  echo = await startEcho();
});

after(async () => {
  await echo?.stop();
});

async function echoRequests(): Promise<number> {
  return ((await (await fetch(`http://127.0.0.1:${echo.port}/debug/stats`)).json()) as { requests: number }).requests;
}

test('-grpc-method calls a method the server\'s reflection describes, with the -payload JSON as its request, as Fortio\'s custom method load', async () => {
  const payload = '{"payload":"hello","delay_nanos":"1000"}';
  const before = await echoRequests();
  const run = await bulwark(['load', '-grpc', '-grpc-method', 'fgrpc.PingServer/Ping', '-payload', payload, '-qps', '0', '-c', '2', '-n', '10', '-json', '-', `127.0.0.1:${echo.grpcPort}`]);
  assert.equal(run.code, 0, run.stderr);
  const r = JSON.parse(run.stdout) as FortioGrpcResult;
  assert.deepEqual(r.RetCodes, { SERVING: 10 });
  assert.equal(r.RunType, `Custom GRPC Method fgrpc.PingServer/Ping and Payload ${payload} PayloadLength=${payload.length}`);
  assert.equal(r.Ping, false);
  assert.match(run.stderr, /^Custom gRPC Method SERVING : 10$/m);
  assert.equal((await echoRequests()) - before, 10);
  // A method that fails counts as ERROR; a leading "/" is allowed.
  const failing = await bulwark(['load', '-grpc', '-grpc-method', '/grpc.health.v1.Health/Check', '-payload', '{"service":"nope"}', '-qps', '0', '-c', '1', '-n', '3', '-json', '-', `127.0.0.1:${echo.grpcPort}`]);
  assert.deepEqual((JSON.parse(failing.stdout) as FortioGrpcResult).RetCodes, { ERROR: 3 });
});

test('-grpc-method makes no warm-up call in a timed run, and -ping takes precedence over it, as in Fortio', async () => {
  const before = await echoRequests();
  const timed = await bulwark(['load', '-grpc', '-grpc-method', 'grpc.health.v1.Health/Check', '-qps', '20', '-c', '1', '-t', '300ms', '-json', '-', `127.0.0.1:${echo.grpcPort}`]);
  assert.equal(timed.code, 0, timed.stderr);
  const r = JSON.parse(timed.stdout) as FortioGrpcResult;
  assert.ok(r.DurationHistogram.Count > 0);
  assert.equal((await echoRequests()) - before, r.DurationHistogram.Count);
  const ping = await bulwark(['load', '-grpc', '-ping', '-grpc-method', 'no.Such/Method', '-qps', '0', '-n', '2', '-c', '1', '-json', '-', `127.0.0.1:${echo.grpcPort}`]);
  assert.equal(ping.code, 0, ping.stderr);
  assert.equal((JSON.parse(ping.stdout) as FortioGrpcResult).RunType, 'GRPC Ping');
});

test('a -grpc-method that cannot be resolved or a payload that is not JSON stops the run with Fortio\'s words, exit 1', async () => {
  const dest = `127.0.0.1:${echo.grpcPort}`;
  const cases: Array<[string[], RegExp]> = [
    [['-grpc-method', 'fgrpc.PingServer/Pong'], /Aborting because of failed to get method descriptor for fgrpc.PingServer\/Pong: method Pong not found in service fgrpc.PingServer/],
    [['-grpc-method', 'nope.Svc/Call'], /Aborting because of failed to get method descriptor for nope.Svc\/Call: Symbol not found: nope.Svc/],
    [['-grpc-method', 'Ping'], /Aborting because of failed to get method descriptor for Ping: invalid method format: want Service\/Method, got "Ping"/],
    [['-grpc-method', 'fgrpc.PingServer/Ping', '-payload', '{not json'], /Aborting because of failed to get request message for fgrpc.PingServer\/Ping: failed to unmarshal JSON payload/],
  ];
  for (const [flags, re] of cases) {
    const run = await bulwark(['load', '-grpc', ...flags, '-qps', '0', '-n', '1', '-c', '1', dest]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, re);
  }
});
