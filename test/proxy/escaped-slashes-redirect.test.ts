/**
 * pathWithEscapedSlashesAction UNESCAPE_AND_REDIRECT (Envoy's edge best-practice setting): a path with
 * %2F or %5C is answered with a 307 to the unescaped, normalized path (path and query only), so the
 * client, every proxy and the upstream all see the same path; nothing reaches the upstream. A gRPC
 * request cannot follow a redirect and gets INTERNAL instead.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  upstream = await startUpstream('app');
  port = await freePort();
  const hcm = { pathWithEscapedSlashesAction: 'UNESCAPE_AND_REDIRECT', normalizePath: true, mergeSlashes: true };
  proxy = await startProxy(bootstrap([httpListener('edge', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), hcm)], [staticCluster('app', [upstream.port])]));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

test('an escaped slash gets a 307 to the unescaped, normalized path, and the upstream sees nothing', async () => {
  const before = upstream.requests.length;
  const r = await curl(['--path-as-is', `http://127.0.0.1:${port}/api%2Fusers/..%5Cadmin//x?q=%2F`]);
  assert.equal(r.status, 307);
  assert.equal(r.headers.location, '/api/admin/x?q=%2F');
  assert.equal(upstream.requests.length, before);
});

test('a path without escaped slashes is served as usual', async () => {
  const r = await curl([`http://127.0.0.1:${port}/api/users`]);
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).url, '/api/users');
});

test('a gRPC request with an escaped slash gets grpc-status INTERNAL, not a redirect it cannot follow', async () => {
  const r = await curl(['--http2-prior-knowledge', '-X', 'POST', '-H', 'content-type: application/grpc', '--data-binary', '', `http://127.0.0.1:${port}/pkg.Svc%2FMethod`]);
  assert.equal(r.status, 200);
  assert.equal(r.headers['grpc-status'], '13');
});
