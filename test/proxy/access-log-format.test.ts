/**
 * An access log entry that names its own format (Envoy's logFormat) gets lines in that format, and
 * one the proxy cannot honour is refused when the config loads.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { parseBootstrap } from '../../src/config/bootstrap-loader.js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { scratchPath } from '../support/scratch-path.js';

let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;
const textLog = scratchPath('access-text.log');
const jsonLog = scratchPath('access-json.log');

before(async () => {
  upstream = await startUpstream('app');
  port = await freePort();
  const hcm = {
    accessLog: [
      { name: 'envoy.access_loggers.file', typedConfig: { path: textLog, logFormat: { textFormat: '%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% "%REQ(X-TENANT)%" %UPSTREAM_CLUSTER%\n' } } },
      { name: 'envoy.access_loggers.file', typedConfig: { path: jsonLog, logFormat: { jsonFormat: { status: '%RESPONSE_CODE%', tenant: '%REQ(X-TENANT)%', cluster: '%UPSTREAM_CLUSTER%' } } } },
    ],
  };
  proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), hcm)], [staticCluster('app', [upstream.port])]));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

async function lastLine(file: string, pred: (l: string) => boolean): Promise<string> {
  for (let i = 0; i < 100; i++) {
    try {
      const hit = readFileSync(file, 'latin1').split('\n').filter(pred).pop();
      if (hit) return hit;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no matching line in ${file}`);
}

test('text and JSON formats from the config shape the lines, request headers included', async () => {
  assert.equal((await curl(['-H', 'x-tenant: blue', `http://127.0.0.1:${port}/orders?id=3`])).status, 200);
  assert.equal(await lastLine(textLog, (l) => l.includes('/orders')), 'GET /orders?id=3 200 - "blue" app');
  assert.deepEqual(JSON.parse(await lastLine(jsonLog, (l) => l.includes('blue'))), { status: 200, tenant: 'blue', cluster: 'app' });
});

test('a format with an operator the proxy cannot resolve is refused at load, naming the field', () => {
  const config = JSON.parse(bootstrap([httpListener('h', 1, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), { accessLog: [{ typedConfig: { path: '/dev/null', logFormat: { textFormat: '%UPSTREAM_PEER_SUBJECT%' } } }] })], [staticCluster('app', [2])])) as object;
  assert.throws(
    () => parseBootstrap(JSON.stringify(config), 'f.json'),
    (err: { errors?: Array<{ message: string }> }) => /accessLog\[0\]\.typedConfig\.logFormat: command operator %UPSTREAM_PEER_SUBJECT% is not supported/.test(err.errors?.[0]?.message ?? ''),
  );
});

test('a length limit on an operator that takes none, or a second alternative header, is refused at load as Envoy refuses it', () => {
  for (const [textFormat, why] of [
    ['%PROTOCOL:3%', /%PROTOCOL% does not take any parameters or length/],
    ['%START_TIME:10%', /%START_TIME% does not allow length to be specified/],
    ['%REQ(X-A?X-B?X-C)%', /more than 1 alternative header/],
  ] as const) {
    const config = bootstrap([httpListener('h', 1, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), { accessLog: [{ typedConfig: { path: '/dev/null', logFormat: { textFormat } } }] })], [staticCluster('app', [2])]);
    assert.throws(
      () => parseBootstrap(config, 'f.json'),
      (err: { errors?: Array<{ message: string }> }) => /accessLog\[0\]\.typedConfig\.logFormat: /.test(err.errors?.[0]?.message ?? '') && why.test(err.errors?.[0]?.message ?? ''),
      textFormat,
    );
  }
});
