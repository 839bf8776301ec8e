import assert from 'node:assert/strict';
import { test } from 'node:test';
import { echoBehaviour, EchoParamError } from '../../src/load/echo-params.js';
import { LoadUsageError, parseLoadArgs } from '../../src/load/load-options.js';
import { bulwark } from './load-support.js';

test('load flags: Fortio spellings, defaults, repeated headers, and -n over -t', () => {
  const o = parseLoadArgs(['-qps', '0', '--c=16', '-n', '1000', '-H', 'X-A: 1', '-H', 'x-b:two', '-payload-size', '64', '-labels', 'run 1', '-p', '50,99.9', 'http://h:81/p?q=1']);
  assert.equal(o.qps, 0);
  assert.equal(o.connections, 16);
  assert.equal(o.calls, 1000);
  assert.equal(o.durationMs, 0);
  assert.deepEqual(o.headers, [['x-a', '1'], ['x-b', 'two']]);
  assert.equal(o.method, 'POST');
  assert.deepEqual(o.percentiles, [50, 99.9]);
  assert.equal(o.url.port, '81');
  const d = parseLoadArgs(['http://h/']);
  assert.equal(d.qps, 8);
  assert.equal(d.connections, 4);
  assert.equal(d.durationMs, 5000);
  assert.deepEqual(d.percentiles, [50, 75, 90, 99, 99.9]);
  const t = parseLoadArgs(['-t', '1.5s', '-h2', '-k', '-new-conn', '-resume', 'https://h/']);
  assert.equal(t.durationMs, 1500);
  assert.ok(t.http2 && t.insecure && t.newConnection && t.resume);
});

test('load flags: -qps -1 means max, and -t takes Go durations, 0 meaning until interrupted', () => {
  assert.equal(parseLoadArgs(['-qps', '-1', 'http://h/']).qps, 0);
  assert.equal(parseLoadArgs(['-qps=-1', 'http://h/']).qps, 0);
  assert.equal(parseLoadArgs(['-t', '1m30s', 'http://h/']).durationMs, 90_000);
  assert.equal(parseLoadArgs(['-t', '1h0m0.5s', 'http://h/']).durationMs, 3_600_500);
  assert.equal(parseLoadArgs(['-t', '250ms', 'http://h/']).durationMs, 250);
  const forever = parseLoadArgs(['-t', '0', 'http://h/']);
  assert.equal(forever.durationMs, 0);
  assert.equal(forever.calls, 0);
  assert.throws(() => parseLoadArgs(['-t', '1m30', 'http://h/']), /-t must be a duration/);
});

test('load flags: mistakes are refused with the flag named', () => {
  const bad: Array<[string[], RegExp]> = [
    [['-qps', 'fast', 'http://h/'], /-qps/],
    [['-c', '0', 'http://h/'], /-c/],
    [['-t', 'soon', 'http://h/'], /-t must be a duration/],
    [['-H', 'novalue', 'http://h/'], /-H/],
    [['-p', '0,101', 'http://h/'], /-p/],
    [['-bogus', 'http://h/'], /^flag provided but not defined: -bogus$/],
    [['--bogus=1', 'http://h/'], /^flag provided but not defined: -bogus$/],
    [['-profile', 'cpu', 'http://h/'], /^-profile is a flag of fortio that bulwark load does not implement$/],
    [['-keepalive=maybe', 'http://h/'], /-keepalive takes true or false/],
    [['-loglevel', 'Loud', 'http://h/'], /-loglevel/],
    [['-payload-file', '/nonexistent/body', 'http://h/'], /-payload-file/],
    [['ftp://h/'], /unsupported scheme/],
    [['-qps', '5'], /URL is required/],
  ];
  for (const [args, re] of bad) assert.throws(() => parseLoadArgs(args), (e: unknown) => e instanceof LoadUsageError && re.test((e as Error).message), args.join(' '));
});

test('echo parameters: fixed and weighted delay and status, size, close, headers', () => {
  const q = (s: string): URLSearchParams => new URLSearchParams(s);
  assert.equal(echoBehaviour(q('delay=25ms')).delayMs, 25);
  assert.equal(echoBehaviour(q('delay=20s')).delayMs, 10_000, 'delays are bounded');
  assert.equal(echoBehaviour(q('delay=10ms:50,100ms:5'), () => 0.1).delayMs, 10);
  assert.equal(echoBehaviour(q('delay=10ms:50,100ms:5'), () => 0.52).delayMs, 100);
  assert.equal(echoBehaviour(q('delay=10ms:50,100ms:5'), () => 0.9).delayMs, 0);
  assert.equal(echoBehaviour(q('status=418')).status, 418);
  assert.equal(echoBehaviour(q('status=503:5,429:1'), () => 0.01).status, 503);
  assert.equal(echoBehaviour(q('status=503:5,429:1'), () => 0.055).status, 429);
  assert.equal(echoBehaviour(q('status=503:5,429:1'), () => 0.5).status, 200);
  assert.equal(echoBehaviour(q('size=123')).size, 123);
  assert.equal(echoBehaviour(q('size=99999999999')).size, 10 * 1024 * 1024);
  assert.equal(echoBehaviour(q('close=true')).close, true);
  assert.equal(echoBehaviour(q('size=1024:10,512:5'), () => 0.05).size, 1024);
  assert.equal(echoBehaviour(q('size=1024:10,512:5'), () => 0.12).size, 512);
  assert.equal(echoBehaviour(q('size=1024:10,512:5'), () => 0.5).size, undefined, 'otherwise the body is echoed');
  assert.equal(echoBehaviour(q('close=5'), () => 0.01).close, true);
  assert.equal(echoBehaviour(q('close=5'), () => 0.5).close, false);
  assert.equal(echoBehaviour(q('close=false')).close, false);
  assert.equal(echoBehaviour(q('gzip=true')).gzip, true);
  assert.equal(echoBehaviour(q('')).gzip, false);
  assert.deepEqual(echoBehaviour(q('header=X-Test:yes&header=x-two:2')).headers, [['x-test', 'yes'], ['x-two', '2']]);
  for (const bad of ['status=99', 'status=503:60,429:50', 'size=-1', 'size=10:50,x:5', 'close=maybe', 'gzip=yes', 'delay=soon', 'header=bad header:x', 'header=x:a%0Db']) {
    assert.throws(() => echoBehaviour(q(bad)), EchoParamError, bad);
  }
});

test('load flags: -grpc takes HOST:PORT as Fortio does (8079 by default, TLS with -cacert or https://)', () => {
  const o = parseLoadArgs(['-grpc', '-ping', '-s', '4', '-payload', 'x', 'localhost:9000']);
  assert.deepEqual(o.grpc, { destination: 'localhost:9000', ping: true, streams: 4, healthService: '', pingDelayMs: 0, method: '' });
  assert.equal(o.url.toString(), 'http://localhost:9000/');
  assert.equal(parseLoadArgs(['-grpc', 'localhost']).url.port, '8079');
  assert.equal(parseLoadArgs(['-grpc', '[::1]:7']).url.hostname, '[::1]');
  assert.equal(parseLoadArgs(['-grpc', '-cacert', 'ca.pem', 'h:443']).url.protocol, 'https:');
  assert.equal(parseLoadArgs(['-grpc', 'https://h']).url.protocol, 'https:');
  assert.equal(parseLoadArgs(['-grpc', 'http://h:8080']).url.port, '8080');
  assert.equal(parseLoadArgs(['-grpc', '-healthservice', 'ping', 'h:1']).grpc?.healthService, 'ping');
  assert.equal(parseLoadArgs(['http://h/']).grpc, undefined);
  assert.throws(() => parseLoadArgs(['-grpc', 'h:1/path']), LoadUsageError);
  assert.throws(() => parseLoadArgs(['-grpc', '-s', '0', 'h:1']), LoadUsageError);
});

test('an unknown flag: Go\'s message for it and the usage on stderr, exit 2, as `fortio load` exits; a Fortio flag Bulwark lacks is named as such', async () => {
  const r = await bulwark(['load', '-bogus', 'http://127.0.0.1:1/']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^bulwark load: flag provided but not defined: -bogus\nusage: bulwark load /);
  const fortioOnly = await bulwark(['load', '-grpc-compression', '-grpc', '127.0.0.1:1']);
  assert.equal(fortioOnly.code, 2);
  assert.match(fortioOnly.stderr, /^bulwark load: -grpc-compression is a flag of fortio that bulwark load does not implement\n/);
});
