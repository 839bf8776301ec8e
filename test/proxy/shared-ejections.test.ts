/**
 * Outlier ejections with several workers: a host one worker ejects leaves every worker at once, as
 * Envoy's single outlier detector ejects it for all its worker threads.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let good: TestUpstream;
let bad: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  good = await startUpstream('good', (_req, res) => res.end('good'));
  bad = await startUpstream('bad', (_req, res) => {
    res.writeHead(503);
    res.end('bad');
  });
  port = await freePort();
  const routes = routeConfig([
    { match: { prefix: '/solo' }, route: { cluster: 'solo' } },
    { match: { prefix: '/' }, route: { cluster: 'pair' } },
  ]);
  proxy = await startProxy(
    bootstrap(
      // The primary hands connections to the workers in turn: two connections, two workers.
      [{ ...httpListener('ingress', port, routes), connectionBalanceConfig: { balancer: 'round-robin' } }],
      [
        staticCluster('pair', [good.port, bad.port], {
          lbPolicy: 'ROUND_ROBIN',
          outlierDetection: { consecutive5xx: 3, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
        }),
        staticCluster('solo', [bad.port], { outlierDetection: { consecutive5xx: 4, interval: '10s', baseEjectionTime: '30s' } }),
      ],
    ),
    { concurrency: 2 },
  );
});

after(async () => {
  await proxy?.stop();
  await good?.close();
  await bad?.close();
});

/** Sends `n` requests one after another over one keep-alive connection; returns the bodies. */
async function onOneConnection(n: number): Promise<string[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const bodies: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      bodies.push(
        await new Promise<string>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port, path: `/r${i}`, agent }, (res) => {
              let body = '';
              res.setEncoding('utf8');
              res.on('data', (c: string) => (body += c));
              res.on('end', () => resolve(body));
            })
            .on('error', reject);
        }),
      );
    }
  } finally {
    agent.destroy();
  }
  return bodies;
}

test('a host one worker ejects is not used by the other worker either', async () => {
  // The first connection's worker alternates hosts: its third 503 ejects the bad one.
  const first = await onOneConnection(8);
  assert.equal(first.filter((b) => b === 'bad').length, 3, first.join(','));
  await new Promise((r) => setTimeout(r, 200));
  // The second connection lands on the other worker, which has never sent a request to the bad host.
  const second = await onOneConnection(10);
  assert.deepEqual([...new Set(second)], ['good'], second.join(','));
  const clusters = (await proxy.get('/clusters')).body;
  assert.match(clusters, new RegExp(`^pair::127\\.0\\.0\\.1:${bad.port}::health_flags::/failed_outlier_check$`, 'm'));
  const metrics = (await proxy.get('/stats/prometheus')).body;
  // One ejection, made by one worker; both workers have the host out, and the gauge says one host.
  assert.match(metrics, /^bulwark_outlier_ejections_total\{cluster="pair"\} 1$/m);
  assert.match(metrics, /^bulwark_outlier_ejected_hosts\{cluster="pair"\} 1$/m);
});

/** One request on a connection of its own (the round-robin balancer gives each to the next worker). */
function alone(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

test('consecutive failures seen by different workers add up, as Envoy counts them once for all its workers', async () => {
  // Four failures, two on each worker: neither worker alone reaches consecutive5xx 4.
  const failures: string[] = [];
  for (let i = 0; i < 4; i++) failures.push((await alone(`/solo/${i}`)).body);
  assert.deepEqual(failures, ['bad', 'bad', 'bad', 'bad']);
  await new Promise((r) => setTimeout(r, 200));
  const ejections = proxy.logs().split('\n').filter((l) => l.includes('upstream host ejected') && l.includes('"cluster":"solo"'));
  assert.equal(ejections.length, 1, 'ejected once, by the worker that saw the fourth failure');
  const clusters = (await proxy.get('/clusters')).body;
  assert.match(clusters, /^solo::127\.0\.0\.1:\d+::health_flags::.*failed_outlier_check/m, clusters);
});
