import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CliUsageError } from './cli-error.js';

interface Service {
  name: string;
  port: number;
  served: number;
  server: http.Server;
}

/** A small workload: answers with its name, so the summary shows where each request went. */
async function startService(name: string): Promise<Service> {
  const svc: Service = { name, port: 0, served: 0, server: http.createServer() };
  svc.server.on('request', (req, res) => {
    svc.served++;
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ service: name, path: req.url });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((r) => svc.server.listen(0, '127.0.0.1', r));
  svc.port = (svc.server.address() as net.AddressInfo).port;
  return svc;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function demoConfig(listenPort: number, adminPort: number, a: Service, b: Service, accessLog: string): string {
  const cluster = (svc: Service) => ({
    name: svc.name,
    type: 'STATIC',
    connectTimeout: '1s',
    lbPolicy: 'LEAST_REQUEST',
    loadAssignment: { clusterName: svc.name, endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: svc.port } } } }] }] },
    outlierDetection: { consecutive5xx: 5 },
  });
  return JSON.stringify(
    {
      node: { id: 'demo-gateway', cluster: 'demo' },
      admin: { address: { socketAddress: { address: '127.0.0.1', portValue: adminPort } } },
      staticResources: {
        listeners: [
          {
            name: 'ingress',
            address: { socketAddress: { address: '127.0.0.1', portValue: listenPort } },
            filterChains: [
              {
                filters: [
                  {
                    name: 'envoy.filters.network.http_connection_manager',
                    typedConfig: {
                      statPrefix: 'ingress',
                      accessLog: [{ name: 'envoy.access_loggers.file', typedConfig: { path: accessLog } }],
                      routeConfig: {
                        name: 'demo-routes',
                        virtualHosts: [
                          {
                            name: 'demo',
                            domains: ['*'],
                            routes: [
                              { name: 'canary-by-header', match: { prefix: '/api/', headers: [{ name: 'x-canary', stringMatch: { exact: 'true' } }] }, route: { cluster: b.name } },
                              { name: 'api', match: { prefix: '/api/' }, route: { cluster: a.name, retryPolicy: { retryOn: 'gateway-error,connect-failure', numRetries: 2 } } },
                              { name: 'products-by-id', match: { safeRegex: { regex: '/products/[0-9]+' } }, route: { cluster: b.name, prefixRewrite: '/catalog/' } },
                              { name: 'health', match: { path: '/healthz' }, directResponse: { status: 200, body: { inlineString: 'ok\n' } } },
                            ],
                          },
                        ],
                      },
                    },
                  },
                ],
              },
            ],
          },
        ],
        clusters: [cluster(a), cluster(b)],
      },
    },
    null,
    1,
  );
}

interface Outcome {
  status: number;
  service: string;
  ms: number;
}

/** Sends `total` requests over `connections` keep-alive connections; bounded in count. */
async function burst(port: number, total: number, connections: number): Promise<Outcome[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const paths: Array<[string, Record<string, string>]> = [
    ['/api/orders', {}],
    ['/api/orders', { 'x-canary': 'true' }],
    ['/products/42', {}],
    ['/healthz', {}],
    ['/nowhere', {}],
  ];
  const out: Outcome[] = [];
  let next = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const [path, headers] = paths[next % paths.length]!;
      next++;
      const t0 = performance.now();
      const req = http.get({ host: '127.0.0.1', port, path, headers, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          const unrouted = res.statusCode === 404 ? 'no route (404)' : `local reply (${res.statusCode})`;
          let service = unrouted;
          try {
            service = (JSON.parse(body) as { service?: string }).service ?? unrouted;
          } catch {
            service = res.statusCode === 200 ? 'direct response' : unrouted;
          }
          out.push({ status: res.statusCode ?? 0, service, ms: performance.now() - t0 });
          resolve();
        });
      });
      req.on('error', () => {
        out.push({ status: 0, service: 'error', ms: performance.now() - t0 });
        resolve();
      });
    });
  const workers = Array.from({ length: connections }, async () => {
    while (next < total) await one();
  });
  await Promise.all(workers);
  agent.destroy();
  return out;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** `bulwark demo`: a proxy in front of two services, a bounded burst of traffic, a readable summary. */
export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { requests: { type: 'string', short: 'n' }, connections: { type: 'string', short: 'c' } }, strict: true }));
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  const total = Number(values.requests ?? 5000);
  const connections = Number(values.connections ?? 16);
  if (!Number.isInteger(total) || total < 1 || total > 1_000_000) throw new CliUsageError('--requests must be from 1 to 1000000');
  if (!Number.isInteger(connections) || connections < 1 || connections > 1000) throw new CliUsageError('--connections must be from 1 to 1000');

  const a = await startService('orders-v1');
  const b = await startService('orders-v2');
  const listenPort = await freePort();
  const adminPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-demo-'));
  const configFile = join(dir, 'gateway.yaml');
  const accessLog = join(dir, 'access.log');
  writeFileSync(configFile, demoConfig(listenPort, adminPort, a, b, accessLog));

  const main = fileURLToPath(new URL(`./main.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url));
  process.stdout.write(`Bulwark demo\n  services   ${a.name} on :${a.port}, ${b.name} on :${b.port}\n  proxy      http://127.0.0.1:${listenPort} (admin :${adminPort}, 2 workers)\n  config     ${configFile}\n\n`);
  const proxy = spawn(process.execPath, [...process.execArgv, main, 'proxy', '--config', configFile, '--concurrency', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  proxy.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ready = await fetch(`http://127.0.0.1:${adminPort}/ready`).then((r) => r.ok, () => false);
      if (ready) break;
      if (proxy.exitCode !== null || Date.now() > deadline) throw new Error(`proxy did not start:\n${logs}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    process.stdout.write(`Sending ${total} requests over ${connections} keep-alive connections...\n\n`);
    const t0 = performance.now();
    const outcomes = await burst(listenPort, total, connections);
    const seconds = (performance.now() - t0) / 1000;
    const statuses = new Map<number, number>();
    const services = new Map<string, number>();
    for (const o of outcomes) {
      statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
      services.set(o.service, (services.get(o.service) ?? 0) + 1);
    }
    const lat = outcomes.map((o) => o.ms).sort((x, y) => x - y);
    const lines = [
      `requests   ${outcomes.length} in ${seconds.toFixed(2)} s (${(outcomes.length / seconds).toFixed(0)} req/s)`,
      `status     ${[...statuses].sort((x, y) => x[0] - y[0]).map(([s, n]) => `${s}: ${n}`).join('   ')}`,
      `routed to  ${[...services].map(([s, n]) => `${s}: ${n}`).join('   ')}`,
      `latency    p50 ${percentile(lat, 50).toFixed(2)} ms   p90 ${percentile(lat, 90).toFixed(2)} ms   p99 ${percentile(lat, 99).toFixed(2)} ms   max ${lat[lat.length - 1]!.toFixed(2)} ms`,
    ];
    process.stdout.write(lines.join('\n') + '\n\n');
    const metrics = await fetch(`http://127.0.0.1:${adminPort}/stats/prometheus`).then((r) => r.text());
    const reqLines = metrics.split('\n').filter((l) => l.startsWith('istio_requests_total{'));
    process.stdout.write(`metrics    ${reqLines.length} istio_requests_total series at http://127.0.0.1:${adminPort}/stats/prometheus\n`);
    process.stdout.write(`upstreams  ${await upstreamSummary(adminPort)}   (http://127.0.0.1:${adminPort}/clusters)\n`);
    process.stdout.write(`access log ${accessLog}\n`);
    return outcomes.some((o) => o.status === 0) ? 1 : 0;
  } finally {
    proxy.kill('SIGTERM');
    await new Promise((r) => proxy.once('exit', r));
    a.server.close();
    b.server.close();
  }
}

/** Each upstream host as the proxy's workers saw it, from admin /clusters (Envoy's JSON form). */
async function upstreamSummary(adminPort: number): Promise<string> {
  const json = (await fetch(`http://127.0.0.1:${adminPort}/clusters?format=json`).then((r) => r.json())) as {
    cluster_statuses: Array<{
      name: string;
      host_statuses: Array<{ address: { socket_address: { port_value: number } }; stats: Array<{ name: string; value: string }>; health_status: Record<string, unknown> }>;
    }>;
  };
  const parts: string[] = [];
  for (const c of json.cluster_statuses) {
    for (const h of c.host_statuses) {
      const requests = h.stats.find((s) => s.name === 'rq_total')?.value ?? '0';
      const healthy = h.health_status.failed_active_health_check !== true && h.health_status.failed_outlier_check !== true;
      parts.push(`${c.name} :${h.address.socket_address.port_value} ${healthy ? 'healthy' : 'unhealthy'} ${requests} req`);
    }
  }
  return parts.join('   ');
}
