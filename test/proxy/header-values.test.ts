/**
 * Configured header values are Envoy's custom header values: %...% command operators are filled in per
 * request (as Envoy's zipkin example returns the request id with %REQ(x-request-id)%), a value that
 * comes out empty is not added, %% is a percent sign, and an operator the proxy cannot fill in is
 * refused when the config loads rather than sent as text.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseBootstrap } from '../../src/config/bootstrap-loader.js';
import { ConfigErrors } from '../../src/config/config-errors.js';
import { bootstrap, httpListener, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;

const routes = (value: string) => ({
  name: 'routes',
  virtualHosts: [
    {
      name: 'vh',
      domains: ['*'],
      routes: [
        { match: { path: '/direct' }, directResponse: { status: 200 } },
        { match: { prefix: '/' }, route: { cluster: 'app' } },
      ],
      requestHeadersToAdd: [
        { header: { key: 'x-client-address', value: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%' } },
        { header: { key: 'x-missing', value: '%REQ(x-not-sent)%' } },
        { header: { key: 'x-empty-kept', value: '%REQ(x-not-sent)%' }, keepEmptyValue: true },
      ],
      responseHeadersToAdd: [
        { header: { key: 'x-request-id', value: value } },
        { header: { key: 'x-share', value: '100%%' } },
      ],
    },
  ],
});

before(async () => {
  upstream = await startUpstream('app');
  port = await freePort();
  proxy = await startProxy(bootstrap([httpListener('main', port, routes('%REQ(x-request-id)%'))], [staticCluster('app', [upstream.port])]));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

test('a response header value %REQ(x-request-id)% returns the id the upstream got, on a local reply too', async () => {
  const r = await curl([`http://127.0.0.1:${port}/app`]);
  const seen = JSON.parse(r.body).headers['x-request-id'];
  assert.match(seen, /^[0-9a-f-]{36}$/);
  assert.equal(r.headers['x-request-id'], seen);
  assert.equal(r.headers['x-share'], '100%');
  const direct = await curl(['-H', 'x-request-id: from-client', `http://127.0.0.1:${port}/direct`]);
  assert.equal(direct.headers['x-request-id'], 'from-client');
});

test('request header values are filled in for the upstream; one that comes out empty is not added unless keepEmptyValue', async () => {
  const seen = JSON.parse((await curl([`http://127.0.0.1:${port}/app`])).body).headers;
  assert.equal(seen['x-client-address'], '127.0.0.1');
  assert.equal(seen['x-missing'], undefined);
  assert.equal(seen['x-empty-kept'], '');
});

test('an operator that cannot be filled in, or a lone percent sign, is refused when the config loads', () => {
  const errorsOf = (value: string): string => {
    try {
      parseBootstrap(bootstrap([httpListener('main', 1, routes(value))], [staticCluster('app', [1])]), 'proxy.yaml');
    } catch (err) {
      assert.ok(err instanceof ConfigErrors, String(err));
      return err.message;
    }
    return assert.fail('the config loaded');
  };
  assert.match(errorsOf('%UPSTREAM_METADATA(["envoy.lb", "canary"])%'), /responseHeadersToAdd\[0\]\.header\.value: command operator %UPSTREAM_METADATA% is not supported \(a literal percent sign is written %%\)/);
  assert.match(errorsOf('100%'), /responseHeadersToAdd\[0\]\.header\.value: unterminated or malformed command operator/);
});
