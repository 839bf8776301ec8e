import type { FortioResult } from './fortio-json.js';

/** Fortio's end-of-run text, so people used to it read it at a glance. */
export function textSummary(r: FortioResult): string {
  const h = r.DurationHistogram;
  const ms = (s: number): string => (s * 1000).toFixed(3);
  const lines = [
    `Ended after ${(r.ActualDuration / 1e9).toFixed(3)}s : ${h.Count} calls. qps=${r.ActualQPS.toFixed(2)} (requested ${r.RequestedQPS})${r.Labels ? ` labels="${r.Labels}"` : ''}`,
    `Aggregated Function Time : count ${h.Count} avg ${ms(h.Avg)} ms +/- ${ms(h.StdDev)} min ${ms(h.Min)} max ${ms(h.Max)} sum ${h.Sum.toFixed(3)} s`,
    ...h.Percentiles.map((p) => `# target ${p.Percentile}% ${ms(p.Value)} ms`),
    ...Object.entries(r.RetCodes).map(([code, n]) => `Code ${code === '-1' ? '-1 (transport error)' : code} : ${n} (${((100 * n) / Math.max(h.Count, 1)).toFixed(1)} %)`),
    `Response Body Sizes : count ${r.Sizes.Count} avg ${r.Sizes.Avg.toFixed(1)} bytes, ${r.Bulwark.BytesReceived} bytes total`,
  ];
  if (r.Bulwark.Handshakes + r.Bulwark.ResumedHandshakes > 0) {
    lines.push(`TLS handshakes : ${r.Bulwark.Handshakes} full, ${r.Bulwark.ResumedHandshakes} resumed, ${r.Bulwark.HandshakesPerSec.toFixed(1)}/s`);
  }
  if (!r.Bulwark.TargetRateReached) lines.push(`WARNING: target rate not reached: ${r.ActualQPS.toFixed(1)} of ${r.RequestedQPS} qps (the server or the client is saturated)`);
  return lines.join('\n') + '\n';
}
