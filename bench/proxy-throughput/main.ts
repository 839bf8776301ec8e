/**
 * bench/proxy-throughput: Bulwark against nginx, haproxy and a Node proxy (http-proxy), one worker
 * each, pinned to CPU 1; wrk and the upstream (nginx, static answer) share CPU 0. Measures max req/s,
 * CPU µs per request (from /proc, with its user and system shares), added p50/p99 latency at a fixed 1000 req/s, and idle RSS.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuTimes, freePort, median, processTree, rssMb, runWrk, startPinned, stop, waitForPort } from '../support/processes.js';
import { bulwarkConfig, proxyHaproxy, proxyNginx, upstreamNginx } from './peer-configs.js';

const REPO = new URL('../..', import.meta.url).pathname;
const PROXY_CPU = '1';
const LOAD_CPU = '0';
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 50;

interface Target {
  name: string;
  port: number;
  start: () => Promise<ChildProcess | undefined>;
}

interface Result {
  name: string;
  rps: number;
  cpuUsPerRequest: number;
  /** The user and system shares of cpuUsPerRequest (medians of their own, so they need not add up exactly). */
  userUsPerRequest: number;
  systemUsPerRequest: number;
  /** Added to the direct figure of the same round (median over rounds). */
  addedP50Ms: number;
  addedP99Ms: number;
  rssIdleMb: number;
}

function wrk(port: number, seconds: number): { rps: number; requests: number } {
  return runWrk(LOAD_CPU, CONNECTIONS, seconds, `http://127.0.0.1:${port}/api/items`);
}

/**
 * Latency at a fixed 1000 req/s with Bulwark's own open-model load generator (coordinated omission
 * corrected). -uniform spaces the 16 connections' schedules evenly, one call every millisecond: without
 * it (Fortio's default) all 16 fire together every 16 ms, and the p99 measures that burst's queue.
 */
function fixedRate(port: number): { p50Ms: number; p99Ms: number } {
  const r = spawnSync(
    'taskset',
    ['-c', LOAD_CPU, process.execPath, join(REPO, 'bin/bulwark.js'), 'load', '-qps', '1000', '-uniform', '-c', '16', '-t', '8s', '-json', '-', `http://127.0.0.1:${port}/api/items`],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  try {
    const json = JSON.parse(r.stdout) as { DurationHistogram: { Percentiles: Array<{ Percentile: number; Value: number }> } };
    const p = (q: number) => (json.DurationHistogram.Percentiles.find((x) => x.Percentile === q)?.Value ?? NaN) * 1000;
    return { p50Ms: p(50), p99Ms: p(99) };
  } catch {
    process.stderr.write(`fixed-rate run failed on port ${port}: ${r.stderr.slice(0, 400)}\n`);
    return { p50Ms: NaN, p99Ms: NaN };
  }
}

interface Running {
  target: Target;
  child: ChildProcess | undefined;
  pids: number[];
  rssIdleMb: number;
  rpsRuns: number[];
  cpuRuns: number[];
  userRuns: number[];
  systemRuns: number[];
  p50Runs: number[];
  p99Runs: number[];
}

async function launch(t: Target): Promise<Running> {
  const child = await t.start();
  await waitForPort(t.port);
  await new Promise((r) => setTimeout(r, 500));
  const pids = child ? processTree(child.pid!) : [];
  return { target: t, child, pids, rssIdleMb: rssMb(pids), rpsRuns: [], cpuRuns: [], userRuns: [], systemRuns: [], p50Runs: [], p99Runs: [] };
}

/** One max-rate run against one target: req/s, and the target's CPU time per request. */
function maxRateRun(r: Running): void {
  const before = cpuTimes(r.pids);
  const w = wrk(r.target.port, SECONDS);
  const after = cpuTimes(r.pids);
  const perRequest = (seconds: number): number => (r.child ? (seconds * 1e6) / w.requests : NaN);
  r.rpsRuns.push(w.rps);
  r.cpuRuns.push(perRequest(after.user + after.system - before.user - before.system));
  r.userRuns.push(perRequest(after.user - before.user));
  r.systemRuns.push(perRequest(after.system - before.system));
}

/**
 * Every target runs side by side (idle ones cost nothing on the proxy CPU) and the rounds are
 * interleaved: round 1 measures each target once, then round 2, and so on. On a shared, noisy
 * machine a slow spell then lands on every target instead of on whichever ran during it.
 */
async function measureAll(targets: Target[]): Promise<Result[]> {
  const running: Running[] = [];
  try {
    for (const t of targets) {
      process.stderr.write(`starting ${t.name}...\n`);
      running.push(await launch(t));
    }
    for (const r of running) wrk(r.target.port, 2); // warm-up: JIT, pools, caches
    for (let round = 1; round <= RUNS; round++) {
      process.stderr.write(`round ${round}/${RUNS}...\n`);
      for (const r of running) maxRateRun(r);
    }
    // Latency rounds are interleaved too. Each round's direct figure is subtracted from the same
    // round's proxy figure, and the median of those differences is reported.
    for (let round = 1; round <= RUNS; round++) {
      process.stderr.write(`latency at 1000 req/s, round ${round}/${RUNS}...\n`);
      const baseline = running.find((r) => r.child === undefined)!;
      const direct = fixedRate(baseline.target.port);
      for (const r of running) {
        const lat = r === baseline ? direct : fixedRate(r.target.port);
        r.p50Runs.push(lat.p50Ms - direct.p50Ms);
        r.p99Runs.push(lat.p99Ms - direct.p99Ms);
      }
    }
    return running.map((r) => ({
      name: r.target.name,
      rps: median(r.rpsRuns),
      cpuUsPerRequest: median(r.cpuRuns),
      userUsPerRequest: median(r.userRuns),
      systemUsPerRequest: median(r.systemRuns),
      addedP50Ms: median(r.p50Runs),
      addedP99Ms: median(r.p99Runs),
      rssIdleMb: r.rssIdleMb,
    }));
  } finally {
    for (const r of running) if (r.child) await stop(r.child);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-'));
  for (const d of ['ub', 'up', 'uf', 'uu', 'us', 'pb', 'pp', 'pf', 'pu', 'ps']) mkdirSync(join(dir, d));
  const upstreamPort = await freePort();
  writeFileSync(join(dir, 'upstream.conf'), upstreamNginx(upstreamPort, dir));
  const upstream = startPinned(LOAD_CPU, 'nginx', ['-c', join(dir, 'upstream.conf'), '-p', dir]);
  await waitForPort(upstreamPort);

  const ports = { bulwark: await freePort(), admin: await freePort(), nginx: await freePort(), haproxy: await freePort(), node: await freePort() };
  writeFileSync(join(dir, 'bulwark.json'), bulwarkConfig(ports.bulwark, upstreamPort, ports.admin, dir));
  writeFileSync(join(dir, 'nginx.conf'), proxyNginx(ports.nginx, upstreamPort, dir));
  writeFileSync(join(dir, 'haproxy.cfg'), proxyHaproxy(ports.haproxy, upstreamPort, dir));

  const targets: Target[] = [
    { name: 'direct', port: upstreamPort, start: async () => undefined },
    {
      name: 'bulwark',
      port: ports.bulwark,
      start: async () => startPinned(PROXY_CPU, process.execPath, [join(REPO, 'bin/bulwark.js'), 'proxy', '--config', join(dir, 'bulwark.json'), '--concurrency', '1']).child,
    },
    { name: 'nginx', port: ports.nginx, start: async () => startPinned(PROXY_CPU, 'nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir]).child },
    { name: 'haproxy', port: ports.haproxy, start: async () => startPinned(PROXY_CPU, 'haproxy', ['-f', join(dir, 'haproxy.cfg')]).child },
    {
      name: 'node-http-proxy',
      port: ports.node,
      start: async () => startPinned(PROXY_CPU, process.execPath, [join(REPO, 'bench/proxy-throughput/node-proxy.mjs'), String(ports.node), String(upstreamPort)]).child,
    },
  ];

  let results: Result[];
  try {
    results = await measureAll(targets);
  } finally {
    await stop(upstream.child);
  }

  const by = (n: string) => results.find((r) => r.name === n)!;
  const direct = by('direct');
  const rows = results;
  const fmt = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
  const lines = [
    `proxy-throughput: wrk -t1 -c${CONNECTIONS} ${SECONDS}s and 1000 req/s 8s, x${RUNS} interleaved rounds (median); proxies pinned to CPU ${PROXY_CPU}, wrk + upstream on CPU ${LOAD_CPU}`,
    '',
    '| target | req/s | CPU µs/req | user | system | added p50 ms @1000rps | added p99 ms @1000rps | RSS idle MB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${fmt(r.rps, 0)} | ${fmt(r.cpuUsPerRequest)} | ${fmt(r.userUsPerRequest)} | ${fmt(r.systemUsPerRequest)} | ${fmt(r.addedP50Ms, 3)} | ${fmt(r.addedP99Ms, 3)} | ${fmt(r.rssIdleMb)} |`,
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n\n');

  const b = by('bulwark');
  const ratios = {
    rps_vs_nginx: b.rps / by('nginx').rps,
    rps_vs_haproxy: b.rps / by('haproxy').rps,
    cpu_efficiency_vs_nginx: by('nginx').cpuUsPerRequest / b.cpuUsPerRequest,
    cpu_efficiency_vs_haproxy: by('haproxy').cpuUsPerRequest / b.cpuUsPerRequest,
    rps_vs_node_proxy: b.rps / by('node-http-proxy').rps,
  };
  const figures = {
    bulwark_rps: b.rps,
    nginx_rps: by('nginx').rps,
    haproxy_rps: by('haproxy').rps,
    node_proxy_rps: by('node-http-proxy').rps,
    direct_rps: direct.rps,
    bulwark_cpu_us_per_req: b.cpuUsPerRequest,
    nginx_cpu_us_per_req: by('nginx').cpuUsPerRequest,
    bulwark_user_us_per_req: b.userUsPerRequest,
    nginx_user_us_per_req: by('nginx').userUsPerRequest,
    bulwark_system_us_per_req: b.systemUsPerRequest,
    nginx_system_us_per_req: by('nginx').systemUsPerRequest,
    haproxy_cpu_us_per_req: by('haproxy').cpuUsPerRequest,
    node_proxy_cpu_us_per_req: by('node-http-proxy').cpuUsPerRequest,
    added_p50_ms_at_1000rps: rows.find((r) => r.name === 'bulwark')!.addedP50Ms,
    added_p99_ms_at_1000rps: rows.find((r) => r.name === 'bulwark')!.addedP99Ms,
    rss_idle_mb: b.rssIdleMb,
  };
  const targetsSpec = { rps_vs_nginx: 0.9, cpu_efficiency_vs_nginx: 0.7, rps_vs_node_proxy: 2, added_p99_ms_at_1000rps: 1, rss_idle_mb: 60 };
  const pass =
    ratios.rps_vs_nginx >= 0.9 &&
    ratios.cpu_efficiency_vs_nginx >= 0.7 &&
    ratios.rps_vs_node_proxy >= 2 &&
    figures.added_p99_ms_at_1000rps <= 1 &&
    figures.rss_idle_mb <= 60;
  const round = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null]));
  process.stdout.write(`ratios: ${JSON.stringify(round(ratios))}\n`);
  process.stdout.write(`BENCH proxy-throughput ${JSON.stringify({ figures: round(figures), ratios: round(ratios), targets: targetsSpec, pass })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
