/**
 * bench/proxy-gc: how much of each request's garbage the proxy promotes to old space under concurrent
 * load. One connection at a time (bench/proxy-instructions) cannot show it: there a request's objects
 * are dead long before the next scavenge. Under 50 connections, anything that keeps finished requests
 * reachable for a while (once, a Set of streams with deadlines) shows as bytes promoted per request,
 * longer scavenges and regular mark-compacts.
 *
 * The proxy runs as shipped (access log on, Istio metrics on) with V8's --trace-gc-nvp, pinned to
 * CPU 1; wrk and the nginx upstream share CPU 0. The GC lines printed during the measured run are summed.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runWrk, startPinned, stop, waitForPort } from '../support/processes.js';
import { bulwarkConfig, upstreamNginx } from '../proxy-throughput/peer-configs.js';

const REPO = new URL('../..', import.meta.url).pathname;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 50;
/** Promotion a proxy whose per-request objects all die young should stay under (bytes per request). */
const PROMOTED_TARGET = 100;

function wrk(port: number, seconds: number): number {
  return runWrk('0', CONNECTIONS, seconds, `http://127.0.0.1:${port}/api/items`).requests;
}

interface GcTotals {
  scavenges: number;
  scavengePauseMs: number;
  promotedBytes: number;
  markCompacts: number;
  markCompactPauseMs: number;
}

/** Sums V8's --trace-gc-nvp lines ("pause=1.2 gc=s ... promoted=123 ..."). */
export function sumGcLines(text: string): GcTotals {
  const totals: GcTotals = { scavenges: 0, scavengePauseMs: 0, promotedBytes: 0, markCompacts: 0, markCompactPauseMs: 0 };
  for (const line of text.split('\n')) {
    const kind = / gc=(\w+)/.exec(line)?.[1];
    if (kind === undefined) continue;
    const pause = Number(/\bpause=([\d.]+)/.exec(line)?.[1] ?? 0);
    if (kind === 's') {
      totals.scavenges++;
      totals.scavengePauseMs += pause;
      totals.promotedBytes += Number(/\bpromoted=(\d+)/.exec(line)?.[1] ?? 0);
    } else if (kind === 'mc' || kind === 'mmc') {
      totals.markCompacts++;
      totals.markCompactPauseMs += pause;
    }
  }
  return totals;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-gc-'));
  for (const d of ['ub', 'up', 'uf', 'uu', 'us']) mkdirSync(join(dir, d));
  const upstreamPort = await freePort();
  writeFileSync(join(dir, 'upstream.conf'), upstreamNginx(upstreamPort, dir));
  const upstream = startPinned('0', 'nginx', ['-c', join(dir, 'upstream.conf'), '-p', dir]);
  const port = await freePort();
  writeFileSync(join(dir, 'bulwark.json'), bulwarkConfig(port, upstreamPort, await freePort(), dir));
  // startPinned sends the output (and so the GC trace) to a file this bench reads after the run.
  const proxy = startPinned('1', process.execPath, ['--trace-gc-nvp', join(REPO, 'bin/bulwark.js'), 'proxy', '--config', join(dir, 'bulwark.json'), '--concurrency', '1']);
  try {
    await waitForPort(upstreamPort);
    await waitForPort(port);
    wrk(port, 2); // warm-up: JIT, pools, young generation grown to its working size
    await new Promise((r) => setTimeout(r, 200));
    const before = proxy.log().length;
    const requests = wrk(port, SECONDS);
    await new Promise((r) => setTimeout(r, 200));
    const gc = sumGcLines(proxy.log().slice(before));
    const figures = {
      requests,
      promoted_bytes_per_request: gc.promotedBytes / requests,
      scavenges_per_10k_requests: (gc.scavenges * 10_000) / requests,
      scavenge_pause_us_per_request: (gc.scavengePauseMs * 1000) / requests,
      mark_compacts: gc.markCompacts,
      mark_compact_pause_ms: gc.markCompactPauseMs,
    };
    process.stdout.write(
      [
        `proxy-gc: wrk -t1 -c${CONNECTIONS} ${SECONDS}s through Bulwark (access log on), --trace-gc-nvp, proxy pinned to CPU 1`,
        '',
        '| requests | promoted bytes/request | scavenges per 10k requests | scavenge pause µs/request | mark-compacts (pause ms) |',
        '|---:|---:|---:|---:|---:|',
        `| ${requests} | ${figures.promoted_bytes_per_request.toFixed(1)} | ${figures.scavenges_per_10k_requests.toFixed(1)} | ${figures.scavenge_pause_us_per_request.toFixed(2)} | ${gc.markCompacts} (${gc.markCompactPauseMs.toFixed(1)}) |`,
        '',
      ].join('\n'),
    );
    const round = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 100) / 100]));
    const pass = figures.promoted_bytes_per_request <= PROMOTED_TARGET;
    process.stdout.write(`BENCH proxy-gc ${JSON.stringify({ figures: round(figures), targets: { promoted_bytes_per_request: PROMOTED_TARGET }, pass })}\n`);
  } finally {
    await stop(proxy.child);
    await stop(upstream.child);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
