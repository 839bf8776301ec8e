import { appendFileSync, existsSync, statSync } from 'node:fs';
import type { FortioRunResult } from './fortio-json.js';

export const CSV_HEADER = 'StartTime,ActualDuration,Labels,NumThreads,ActualQPS,p50,p90,p99,p999,errorPercent,handshakesPerSec';

/** One CSV row per run: durations in seconds, percentiles in microseconds. */
export function csvRow(r: FortioRunResult, exact?: (percentile: number) => number): string {
  const h = r.DurationHistogram;
  const at = (p: number): string => {
    const v = exact?.(p) ?? h.Percentiles.find((x) => x.Percentile === p)?.Value ?? percentileFromData(r, p);
    return (v * 1e6).toFixed(1);
  };
  const errors = r.RetCodes['-1'] ?? 0;
  // gRPC RetCodes are status names, tcp and udp ones outcomes: anything but SERVING or OK failed.
  const ok = (code: string): boolean => code === 'SERVING' || code === 'OK' || (Number(code) >= 200 && Number(code) < 400);
  const non2xx = Object.entries(r.RetCodes).reduce((s, [code, n]) => s + (ok(code) ? 0 : n), 0);
  const errorPercent = h.Count > 0 ? (100 * Math.max(errors, non2xx)) / h.Count : 0;
  const quote = (s: string): string => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const handshakes = r.Bulwark.Handshakes + r.Bulwark.ResumedHandshakes > 0 ? r.Bulwark.HandshakesPerSec.toFixed(1) : '';
  return [r.StartTime, (r.ActualDuration / 1e9).toFixed(3), quote(r.Labels), r.NumThreads, r.ActualQPS.toFixed(2), at(50), at(90), at(99), at(99.9), errorPercent.toFixed(3), handshakes].join(',');
}

/** Appends the row, writing the header first when the file is new or empty. */
export function appendCsv(file: string, r: FortioRunResult, exact?: (percentile: number) => number): void {
  const fresh = !existsSync(file) || statSync(file).size === 0;
  appendFileSync(file, `${fresh ? CSV_HEADER + '\n' : ''}${csvRow(r, exact)}\n`);
}

/** A percentile not asked for with -p, read from the cumulative Data buckets (upper bound). */
function percentileFromData(r: FortioRunResult, p: number): number {
  for (const d of r.DurationHistogram.Data) if (d.Percent >= p) return d.End;
  return r.DurationHistogram.Max;
}
