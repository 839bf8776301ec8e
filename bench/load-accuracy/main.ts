/**
 * bench/load-accuracy: is `bulwark load` a load tool you can trust? Against the same servers (an
 * nginx static endpoint, and `bulwark echo`), each pinned to CPU 1 with the client on CPU 0:
 *  - max rate, HTTP/1.1: bulwark load (one worker) vs wrk (one thread), same connections and duration;
 *  - max rate, HTTP/2 (h2c): bulwark load -h2 vs h2load, same connections;
 *  - fixed rate: bulwark load -qps R vs h2load --rps, achieved rate vs R, and the echo server's own count.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, median, startPinned, stop, waitForPort } from '../support/processes.js';

const REPO = new URL('../..', import.meta.url).pathname;
const SERVER_CPU = '1';
const CLIENT_CPU = '0';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CONNECTIONS = 32;
const FIXED_QPS = 2000;

function nginxStatic(port: number, dir: string): string {
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  http2_max_requests 1000000;
  client_body_temp_path ${dir}/b; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f; uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;
  server {
    listen 127.0.0.1:${port} http2;
    location / { default_type text/plain; return 200 'static answer from nginx'; }
  }
  server {
    listen 127.0.0.1:${port + 1};
    location / { default_type text/plain; return 200 'static answer from nginx'; }
  }
}
`;
}

function run(args: string[]): string {
  const r = spawnSync('taskset', ['-c', CLIENT_CPU, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr.slice(0, 500)}`);
  return r.stdout;
}

function wrkRps(url: string): number {
  const out = run(['wrk', '-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, url]);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
}

function h2loadRps(url: string, extra: string[] = []): { rps: number; done: number } {
  const out = run(['h2load', '-c', String(CONNECTIONS), '-m', '1', '-D', String(SECONDS), ...extra, url]);
  const m = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out);
  const done = /requests: \d+ total, \d+ started, (\d+) done/.exec(out);
  if (!m || !done) throw new Error(`unexpected h2load output: ${out.slice(0, 400)}`);
  return { rps: Number(m[1]), done: Number(done[1]) };
}

interface LoadJson {
  ActualQPS: number;
  DurationHistogram: { Count: number };
  RetCodes: Record<string, number>;
  /** One call per connection before a timed run, as Fortio's warm-up: served, but not counted. */
  Bulwark: { WarmupCalls: number };
}

function bulwarkLoad(url: string, extra: string[]): LoadJson {
  const out = run([process.execPath, join(REPO, 'bin/bulwark.js'), 'load', '-quiet', '-c', String(CONNECTIONS), '-t', `${SECONDS}s`, '-json', '-', ...extra, url]);
  const r = JSON.parse(out) as LoadJson;
  const bad = Object.keys(r.RetCodes).filter((c) => c !== '200');
  if (bad.length) throw new Error(`bulwark load saw ${JSON.stringify(r.RetCodes)}`);
  return r;
}

async function echoCount(port: number): Promise<number> {
  const s = (await (await fetch(`http://127.0.0.1:${port}/debug/stats`)).json()) as { requests: number };
  return s.requests;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-load-'));
  for (const d of ['b', 'p', 'f', 'u', 's']) mkdirSync(join(dir, d));
  const h2Port = await freePort();
  const h1Port = h2Port + 1;
  writeFileSync(join(dir, 'nginx.conf'), nginxStatic(h2Port, dir));
  const nginx = startPinned(SERVER_CPU, 'nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir]);
  const echoPort = await freePort();
  const echo = startPinned(SERVER_CPU, process.execPath, [join(REPO, 'bin/bulwark.js'), 'echo', '--port', String(echoPort), '--grpc-port', 'off']);
  try {
    await waitForPort(h2Port);
    await waitForPort(h1Port);
    await waitForPort(echoPort);
    const h1 = `http://127.0.0.1:${h1Port}/`;
    const h2 = `http://127.0.0.1:${h2Port}/`;
    // Warm-up: JIT and connection setup on both sides.
    bulwarkLoad(h1, ['-qps', '0', '-t', '2s']);
    wrkRps(h1);

    const wrkRuns: number[] = [];
    const loadRuns: number[] = [];
    const h2loadRuns: number[] = [];
    const loadH2Runs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      wrkRuns.push(wrkRps(h1));
      loadRuns.push(bulwarkLoad(h1, ['-qps', '0']).ActualQPS);
      h2loadRuns.push(h2loadRps(h2).rps);
      loadH2Runs.push(bulwarkLoad(h2, ['-qps', '0', '-h2']).ActualQPS);
    }

    // Fixed rate against the echo server: achieved rate vs target, and the server's own count.
    const before = await echoCount(echoPort);
    const fixed = bulwarkLoad(`http://127.0.0.1:${echoPort}/`, ['-qps', String(FIXED_QPS)]);
    const served = (await echoCount(echoPort)) - before;
    const h2Fixed = h2loadRps(h2, ['--rps', String(FIXED_QPS / CONNECTIONS)]);

    const figures = {
      wrk_rps: median(wrkRuns),
      bulwark_load_rps: median(loadRuns),
      h2load_rps: median(h2loadRuns),
      bulwark_load_h2_rps: median(loadH2Runs),
      fixed_target_qps: FIXED_QPS,
      fixed_bulwark_qps: fixed.ActualQPS,
      fixed_h2load_qps: h2Fixed.rps,
      fixed_rate_error_pct: (100 * Math.abs(fixed.ActualQPS - FIXED_QPS)) / FIXED_QPS,
      fixed_h2load_error_pct: (100 * Math.abs(h2Fixed.rps - FIXED_QPS)) / FIXED_QPS,
      client_calls: fixed.DurationHistogram.Count,
      client_warmup_calls: fixed.Bulwark.WarmupCalls,
      echo_served: served,
      count_mismatch: Math.abs(served - fixed.DurationHistogram.Count - fixed.Bulwark.WarmupCalls),
    };
    const ratios = {
      rps_vs_wrk: figures.bulwark_load_rps / figures.wrk_rps,
      h2_rps_vs_h2load: figures.bulwark_load_h2_rps / figures.h2load_rps,
      fixed_rate_vs_h2load: figures.fixed_bulwark_qps / figures.fixed_h2load_qps,
    };
    const targets = { rps_vs_wrk: 0.5, fixed_rate_error_pct: 5, count_mismatch: 0 };
    const pass = ratios.rps_vs_wrk >= 0.5 && figures.fixed_rate_error_pct <= 5 && figures.count_mismatch === 0;
    const f = (v: number, d = 0): string => v.toFixed(d);
    process.stdout.write(
      [
        `load-accuracy: ${CONNECTIONS} connections, ${SECONDS}s x${RUNS} (median); servers on CPU ${SERVER_CPU}, clients on CPU ${CLIENT_CPU}`,
        '',
        '| measurement | bulwark load | peer | ratio |',
        '|---|---:|---:|---:|',
        `| HTTP/1.1 max req/s (nginx static), vs wrk -t1 | ${f(figures.bulwark_load_rps)} | ${f(figures.wrk_rps)} | ${f(ratios.rps_vs_wrk, 2)} |`,
        `| HTTP/2 h2c max req/s (nginx static), vs h2load -m1 | ${f(figures.bulwark_load_h2_rps)} | ${f(figures.h2load_rps)} | ${f(ratios.h2_rps_vs_h2load, 2)} |`,
        `| fixed ${FIXED_QPS} req/s achieved (echo; h2load --rps on nginx) | ${f(figures.fixed_bulwark_qps, 1)} | ${f(figures.fixed_h2load_qps, 1)} | ${f(ratios.fixed_rate_vs_h2load, 3)} |`,
        `| calls counted by the client (+ warm-up calls) / served by echo | ${figures.client_calls} (+${figures.client_warmup_calls}) | ${figures.echo_served} | |`,
        '',
      ].join('\n'),
    );
    const round = (o: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
    process.stdout.write(`BENCH load-accuracy ${JSON.stringify({ figures: round(figures), ratios: round(ratios), targets, pass })}\n`);
  } finally {
    await stop(echo.child);
    await stop(nginx.child);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
