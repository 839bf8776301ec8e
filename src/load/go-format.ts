/* Numbers and durations as Go's fmt writes them, for the text and JSON Fortio writes. */

/**
 * Go's %g (shortest digits) or %.<prec>g: what Fortio's text (and RequestedQPS) uses, so scripts that parse its
 * "# target 99% 0.00123" lines (seconds) read ours the same way.
 */
export function goG(v: number, prec?: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const [mantissa, e] = (prec === undefined ? v.toExponential() : v.toExponential(prec - 1)).split('e') as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= (prec ?? 21)) return `${Number(mantissa)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(Number(prec === undefined ? v : v.toPrecision(prec)));
}

/** A duration as Go's time.Duration.String() writes it ("500ms", "5s", "1m30s", "1h0m0s"), as Fortio's JSON and text hold it. */
export function goDurationText(ms: number): string {
  if (ms < 1) return ms * 1000 < 1 ? `${Math.round(ms * 1e6)}ns` : `${+(ms * 1000).toFixed(3)}µs`;
  if (ms < 1000) return `${+ms.toFixed(6)}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = +((ms % 60_000) / 1000).toFixed(9);
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${s}s`;
}
