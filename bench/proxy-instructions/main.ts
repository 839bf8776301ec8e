/**
 * bench/proxy-instructions: instructions executed in user space per proxied request, counted by
 * valgrind's callgrind. On a shared 2-core machine wall-clock figures swing by ±15 % from one minute
 * to the next; instruction counts repeat within a fraction of a percent, so this is the benchmark that
 * tells whether a change to the hot path made it cheaper. It does not count kernel time (the socket
 * syscalls, the same for every proxy) and says nothing about latency: proxy-throughput does that.
 *
 * Each proxy runs under callgrind in front of the same nginx upstream; after a warm-up (JIT, pools)
 * the counters are zeroed, N requests go through one connection at a time (so every request pays the
 * same event-loop round, independent of load batching), and the counters are dumped. Whether a major
 * collection falls inside the window moves a run by up to ~10 %, so each target runs twice and the
 * lower count stands.
 *
 * Two floors: a bare relay on Node's `net` module (what Node's sockets cost), and the same relay on
 * Bulwark's own direct reads and writes (what Bulwark's I/O layer costs). What Bulwark executes above
 * the second is its HTTP logic per request.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stop, waitForPort } from '../support/processes.js';
import { bulwarkConfig, upstreamNginx } from '../proxy-throughput/peer-configs.js';

const REPO = new URL('../..', import.meta.url).pathname;
const BULWARK = join(REPO, 'bin/bulwark.js');
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 10000);
/** Runs per target; the least count is reported, since a garbage collection inside the window only adds. */
const RUNS = Number(process.env.BENCH_RUNS ?? 2);

interface Target {
  name: string;
  args: (port: number) => Promise<string[]>;
}

function load(port: number, connections: number, n: number): number {
  const r = spawnSync(process.execPath, [BULWARK, 'load', '-quiet', '-qps', '0', '-c', String(connections), '-n', String(n), '-json', '-', `http://127.0.0.1:${port}/api/items`], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const json = JSON.parse(r.stdout) as { RetCodes: Record<string, number> };
  return json.RetCodes['200'] ?? 0;
}

/** Total instructions in the callgrind dump written by `callgrind_control -d` (the file of part 1). */
function dumpedInstructions(dir: string, pid: number): number {
  const files = readdirSync(dir).filter((f) => f.startsWith(`callgrind.out.${pid}.`));
  if (files.length === 0) throw new Error(`no callgrind dump for ${pid} in ${dir}`);
  const newest = files.map((f) => join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!;
  const m = /^(?:summary|totals):\s+(\d+)/m.exec(readFileSync(newest, 'utf8'));
  if (!m) throw new Error(`no totals in ${newest}`);
  return Number(m[1]);
}

async function measure(t: Target, dir: string): Promise<number> {
  const port = await freePort();
  const child: ChildProcess = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${join(dir, 'callgrind.out.%p')}`, ...(await t.args(port))], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  try {
    await waitForPort(port, 120_000);
    for (let i = 0; i < 2; i++) load(port, 50, 6000); // warm-up: JIT tiers, pools, caches
    load(port, 1, 2000); // and the one-connection pattern measured below, so its code is optimised too
    spawnSync('callgrind_control', ['-z', String(child.pid)]);
    const ok = load(port, 1, REQUESTS);
    spawnSync('callgrind_control', ['-d', String(child.pid)]);
    if (ok !== REQUESTS) throw new Error(`${t.name}: ${ok} of ${REQUESTS} requests succeeded`);
    await new Promise((r) => setTimeout(r, 500));
    return dumpedInstructions(dir, child.pid!) / REQUESTS;
  } catch (e) {
    process.stderr.write(`${t.name} failed: ${(e as Error).message}\n${err}\n`);
    throw e;
  } finally {
    await stop(child);
  }
}

async function main(): Promise<void> {
  for (const tool of ['valgrind', 'callgrind_control', 'nginx']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing (run make bootstrap)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-instr-'));
  for (const d of ['ub', 'up', 'uf', 'uu', 'us']) mkdirSync(join(dir, d));
  const upstreamPort = await freePort();
  writeFileSync(join(dir, 'upstream.conf'), upstreamNginx(upstreamPort, dir));
  const upstream = spawn('nginx', ['-c', join(dir, 'upstream.conf'), '-p', dir], { stdio: 'ignore' });
  await waitForPort(upstreamPort);

  const config = async (port: number, accessLog: boolean): Promise<string> => {
    const file = join(dir, `bulwark-${port}.json`);
    const c = JSON.parse(bulwarkConfig(port, upstreamPort, await freePort(), dir)) as Record<string, unknown>;
    if (!accessLog) {
      const listeners = (c.staticResources as { listeners: Array<{ filterChains: Array<{ filters: Array<{ typedConfig: { accessLog?: unknown[] } }> }> }> }).listeners;
      listeners[0]!.filterChains[0]!.filters[0]!.typedConfig.accessLog = [];
    }
    writeFileSync(file, JSON.stringify(c));
    return file;
  };
  const targets: Target[] = [
    { name: 'node-raw-relay', args: async (port) => [process.execPath, join(REPO, 'bench/proxy-instructions/raw-proxy.mjs'), String(port), String(upstreamPort)] },
    { name: 'bulwark-io-floor', args: async (port) => [process.execPath, join(REPO, 'bench/proxy-instructions/direct-relay.mjs'), String(port), String(upstreamPort)] },
    { name: 'bulwark', args: async (port) => [process.execPath, BULWARK, 'proxy', '--config', await config(port, true), '--concurrency', '1'] },
    { name: 'bulwark-no-access-log', args: async (port) => [process.execPath, BULWARK, 'proxy', '--config', await config(port, false), '--concurrency', '1'] },
  ];
  const results = new Map<string, number>();
  try {
    for (const t of targets) {
      process.stderr.write(`measuring ${t.name} under callgrind...\n`);
      const runs: number[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await measure(t, dir));
      process.stderr.write(`  ${runs.map((r) => Math.round(r)).join(', ')}\n`);
      results.set(t.name, Math.min(...runs));
    }
  } finally {
    await stop(upstream);
  }
  const raw = results.get('node-raw-relay')!;
  const bulwark = results.get('bulwark')!;
  const noLog = results.get('bulwark-no-access-log')!;
  const floor = results.get('bulwark-io-floor')!;
  process.stdout.write(
    [
      `proxy-instructions: user-space instructions per request (callgrind), ${REQUESTS} requests on one connection after warm-up, least of ${RUNS} runs`,
      '',
      '| target | instructions/request | vs raw relay |',
      '|---|---:|---:|',
      ...[...results].map(([n, v]) => `| ${n} | ${Math.round(v)} | ${(v / raw).toFixed(2)} |`),
      '',
    ].join('\n') + '\n',
  );
  const figures = {
    instructions_per_request_bulwark: Math.round(bulwark),
    instructions_per_request_bulwark_no_access_log: Math.round(noLog),
    instructions_per_request_node_raw_relay: Math.round(raw),
    access_log_instructions_per_request: Math.round(bulwark - noLog),
    instructions_per_request_bulwark_io_floor: Math.round(floor),
  };
  const ratios = { bulwark_vs_raw_relay: Math.round((bulwark / raw) * 1000) / 1000, bulwark_vs_io_floor: Math.round((bulwark / floor) * 1000) / 1000 };
  process.stdout.write(`BENCH proxy-instructions ${JSON.stringify({ figures, ratios })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
