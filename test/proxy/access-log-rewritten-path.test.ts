/**
 * A route that rewrites the path: the upstream gets the new :path and x-envoy-original-path, and the
 * access log reads them as Envoy's does (%REQ(:PATH)% the path sent, %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%
 * and the default JSON layout the path received), over HTTP/1.1 and HTTP/2.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { scratchPath } from '../support/scratch-path.js';

let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;
const textLog = scratchPath('access-rewrite-text.log');
const jsonLog = scratchPath('access-rewrite-json.log');

before(async () => {
  upstream = await startUpstream('app');
  port = await freePort();
  const hcm = {
    accessLog: [
      { typedConfig: { path: textLog, logFormat: { textFormat: 'sent=%REQ(:PATH)% istio=%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% original=%REQ(X-ENVOY-ORIGINAL-PATH)% %PROTOCOL%\n' } } },
      { typedConfig: { path: jsonLog } },
    ],
  };
  const routes = routeConfig([
    {
      match: { prefix: '/api/' },
      route: { cluster: 'app', prefixRewrite: '/v1/' },
      requestHeadersToAdd: [{ header: { key: 'x-seen-path', value: '%REQ(:PATH)%' } }],
      responseHeadersToAdd: [{ header: { key: 'x-sent-path', value: '%REQ(:PATH)%' } }],
    },
    { match: { safeRegex: { regex: '^/users/([0-9]+)$' } }, route: { cluster: 'app', regexRewrite: { pattern: { regex: '^/users/([0-9]+)$' }, substitution: '/people/\\1' } } },
    { match: { prefix: '/' }, route: { cluster: 'app' } },
  ]);
  proxy = await startProxy(bootstrap([httpListener('h', port, routes, hcm)], [staticCluster('app', [upstream.port])]));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
  rmSync(textLog, { force: true });
  rmSync(jsonLog, { force: true });
});

async function lineWith(file: string, marker: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    try {
      const hit = readFileSync(file, 'latin1').split('\n').find((l) => l.includes(marker));
      if (hit) return hit;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no line with ${marker} in ${file}`);
}

for (const [protocol, flag] of [['HTTP/1.1', '--http1.1'], ['HTTP/2', '--http2-prior-knowledge']] as const) {
  test(`${protocol}: a prefix rewrite logs the path sent as :path and the path received as Istio's path`, async () => {
    const marker = `m=${protocol === 'HTTP/2' ? 'h2' : 'h1'}prefix`;
    const res = await curl([flag, `http://127.0.0.1:${port}/api/orders?${marker}`]);
    assert.equal(res.status, 200);
    const seen = upstream.requests.find((r) => r.url.includes(marker))!;
    assert.equal(seen.url, `/v1/orders?${marker}`);
    assert.equal(seen.headers['x-envoy-original-path'], `/api/orders?${marker}`, 'the router tells the upstream what it rewrote');
    assert.equal(await lineWith(textLog, marker), `sent=/v1/orders?${marker} istio=/api/orders?${marker} original=/api/orders?${marker} ${protocol}`);
    assert.equal(JSON.parse(await lineWith(jsonLog, marker)).path, `/api/orders?${marker}`);
  });
}

test("a route's header values read :path as Envoy's do: the request's before the rewrite, the response's after it", async () => {
  const res = await curl([`http://127.0.0.1:${port}/api/items?m=edits`]);
  assert.equal(res.status, 200);
  assert.equal(upstream.requests.find((r) => r.url.includes('m=edits'))!.headers['x-seen-path'], '/api/items?m=edits');
  assert.equal(res.headers['x-sent-path'], '/v1/items?m=edits');
});

test('a regex rewrite is logged the same way, and the client cannot choose the x-envoy-original-path of a rewritten request', async () => {
  const res = await curl(['-H', 'x-envoy-original-path: /forged', `http://127.0.0.1:${port}/users/42?m=regex`]);
  assert.equal(res.status, 200);
  const seen = upstream.requests.find((r) => r.url.includes('m=regex'))!;
  assert.equal(seen.url, '/people/42?m=regex');
  assert.deepEqual(seen.rawHeaders.filter((_, i, all) => i % 2 === 1 && all[i - 1]!.toLowerCase() === 'x-envoy-original-path'), ['/users/42?m=regex']);
  assert.equal(await lineWith(textLog, 'm=regex'), 'sent=/people/42?m=regex istio=/users/42?m=regex original=/users/42?m=regex HTTP/1.1');
});

test('a route without a rewrite sends no x-envoy-original-path, and %REQ(X-ENVOY-ORIGINAL-PATH)% alone is unknown', async () => {
  assert.equal((await curl([`http://127.0.0.1:${port}/plain?m=none`])).status, 200);
  const seen = upstream.requests.find((r) => r.url.includes('m=none'))!;
  assert.equal(seen.headers['x-envoy-original-path'], undefined);
  assert.equal(await lineWith(textLog, 'm=none'), 'sent=/plain?m=none istio=/plain?m=none original=- HTTP/1.1');
  assert.equal(JSON.parse(await lineWith(jsonLog, 'm=none')).path, '/plain?m=none');
});
