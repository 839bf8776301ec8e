import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { parseLoadArgs } from '../../src/load/load-options.js';
import { makePki } from '../support/tls-fixtures.js';
import { bulwark } from './load-support.js';

test('load flags: -timeout defaults to 3s, -log-errors is on unless silenced, -http1.0, -stdclient, -sequential-warmup', () => {
  const d = parseLoadArgs(['http://h/']);
  assert.deepEqual([d.timeoutMs, d.logErrors, d.http10, d.fastClient, d.sequentialWarmup, d.allowInitialErrors], [3000, true, false, true, false, false]);
  assert.equal(parseLoadArgs(['-quiet', 'http://h/']).logErrors, false);
  assert.equal(parseLoadArgs(['-log-errors=false', 'http://h/']).logErrors, false);
  assert.equal(parseLoadArgs(['-loglevel', 'Error', 'http://h/']).logErrors, false);
  const o = parseLoadArgs(['-http1.0', '-stdclient', '-sequential-warmup', 'http://h/']);
  assert.deepEqual([o.http10, o.fastClient, o.sequentialWarmup], [true, false, true]);
});

test('-http1.0 sends HTTP/1.0 requests without a Host header, on a connection per call', async () => {
  const heads: string[] = [];
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    let data = '';
    socket.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      if (!data.includes('\r\n\r\n')) return;
      heads.push(data.slice(0, data.indexOf('\r\n\r\n')));
      socket.end('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const run = await bulwark(['load', '-quiet', '-http1.0', '-qps', '0', '-c', '1', '-n', '3', '-json', '-', `http://127.0.0.1:${(server.address() as AddressInfo).port}/p?q=1`]);
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout) as FortioResult;
    assert.deepEqual(r.RetCodes, { '200': 3 });
    assert.equal(r.HTTP10, true);
    assert.equal(connections, 3);
    assert.ok(heads.every((h) => h.startsWith('GET /p?q=1 HTTP/1.0\r\n')), heads[0]);
    assert.ok(heads.every((h) => !/^host:/im.test(h)), 'no Host header');
  } finally {
    server.close();
  }
});

test('-timeout cuts slow calls as socket errors; -log-errors prints non-OK statuses unless -quiet; the HTTP options are in the JSON', async () => {
  const server = http.createServer((req, res) => {
    if (req.url === '/slow') setTimeout(() => res.end(), 600);
    else {
      res.statusCode = req.url === '/teapot' ? 418 : 503;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const slow = await bulwark(['load', '-quiet', '-timeout', '100ms', '-qps', '0', '-c', '1', '-n', '2', '-json', '-', `${base}/slow`]);
    const s = JSON.parse(slow.stdout) as FortioResult;
    assert.deepEqual(s.RetCodes, { '-1': 2 });
    assert.ok(s.DurationHistogram.Max < 0.4, `cut at the timeout: ${s.DurationHistogram.Max} s`);
    assert.equal(s.HTTPReqTimeOut, 100e6, 'nanoseconds, as Go writes a Duration');
    const loud = await bulwark(['load', '-qps', '0', '-c', '1', '-n', '2', '-payload', 'hello', '-json', '-', `${base}/fail`]);
    assert.equal((loud.stderr.match(/^Non ok http code 503$/gm) ?? []).length, 2, loud.stderr);
    const r = JSON.parse(loud.stdout) as FortioResult;
    assert.deepEqual([r.Payload, r.ContentType, r.MethodOverride, r.LogErrors, r.HTTP10, r.H2, r.DisableKeepAlive, r.URL], ['aGVsbG8=', '', '', true, false, false, false, `${base}/fail`]);
    assert.deepEqual([r.Resolution, r.Offset, r.NumConnections, r.SequentialWarmup, r.DisableFastClient], [0.001, 0, 1, false, false]);
    const teapot = await bulwark(['load', '-qps', '0', '-c', '1', '-n', '2', '-X', 'PUT', '-json', '-', `${base}/teapot`]);
    assert.doesNotMatch(teapot.stderr, /Non ok/, '418 is OK to Fortio');
    assert.equal((JSON.parse(teapot.stdout) as FortioResult).MethodOverride, 'PUT');
    const quiet = await bulwark(['load', '-quiet', '-qps', '0', '-c', '1', '-n', '2', '-json', '-', `${base}/fail`]);
    assert.doesNotMatch(quiet.stderr, /Non ok/);
  } finally {
    server.close();
  }
});

test('Fortio\'s -resolve, -user, -https-insecure and -calc-qps', async () => {
  const pki = makePki();
  const leaf = pki.issue('service', 'DNS:service.test');
  const seen: string[] = [];
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    seen.push(`${req.headers.host} ${req.headers.authorization}`);
    res.end('ok');
  };
  const plain = http.createServer(onRequest);
  const secure = https.createServer({ cert: readFileSync(leaf.cert), key: readFileSync(leaf.key) }, onRequest);
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
  const port = (s: net.Server): number => (s.address() as AddressInfo).port;
  const load = async (args: string[]): Promise<FortioResult> => {
    const run = await bulwark(['load', '-quiet', '-qps', '0', '-c', '1', '-json', '-', ...args]);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as FortioResult;
  };
  try {
    const r = await load(['-resolve', '127.0.0.1', '-user', 'alice:s3cret', '-H', 'Authorization: Bearer x', '-n', '2', `http://service.test:${port(plain)}/`]);
    assert.deepEqual(r.RetCodes, { '200': 2 });
    assert.deepEqual(seen, Array(2).fill(`service.test:${port(plain)} Basic ${Buffer.from('alice:s3cret').toString('base64')}`), 'to the -resolve address, Host as in the URL, -user in place of -H Authorization');
    assert.deepEqual([r.Resolve, r.UserCredentials], ['127.0.0.1', 'alice:***']);
    assert.doesNotMatch(JSON.stringify(r), /s3cret/, 'the password stays out of the results');
    const named = await load(['-resolve', '127.0.0.1', '-cacert', pki.caCert, '-n', '1', `https://service.test:${port(secure)}/`]);
    assert.deepEqual(named.RetCodes, { '200': 1 }, 'over TLS the certificate is checked against the URL\'s name');
    const insecure = await load(['-https-insecure', '-n', '1', `https://127.0.0.1:${port(secure)}/`]);
    assert.deepEqual([insecure.RetCodes, insecure.Insecure], [{ '200': 1 }, true]);
    const calc = await load(['-calc-qps', '-n', '10', '-t', '1s', `http://127.0.0.1:${port(plain)}/`]);
    assert.deepEqual([calc.RequestedQPS, calc.DurationHistogram.Count, calc.RequestedDuration], ['10', 10, 'exactly 10 calls'], '-calc-qps: 10 calls spread over 1 s');
    assert.ok(calc.ActualDuration > 0.8e9, `ActualDuration ${calc.ActualDuration} ns`);
    const third = await load(['-calc-qps', '-n', '2', '-t', '600ms', `http://127.0.0.1:${port(plain)}/`]);
    assert.equal(third.RequestedQPS, '3.33333333', 'written as Fortio\'s %.9g');
  } finally {
    plain.close();
    secure.close();
  }
  assert.throws(() => parseLoadArgs(['-calc-qps', '-n', '10', 'http://h/']), /-calc-qps/);
  assert.throws(() => parseLoadArgs(['-user', 'alice', 'http://h/']), /-user/);
  assert.throws(() => parseLoadArgs(['-resolve', 'h.example', 'http://h/']), /-resolve/);
});
