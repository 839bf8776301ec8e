/** A duration as Go's time.Duration.String() writes it ("500ms", "5s", "1m30s", "1h0m0s"), as Fortio's JSON and text hold it. */
export function goDurationText(ms: number): string {
  if (ms < 1) return ms * 1000 < 1 ? `${Math.round(ms * 1e6)}ns` : `${+(ms * 1000).toFixed(3)}µs`;
  if (ms < 1000) return `${+ms.toFixed(6)}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = +((ms % 60_000) / 1000).toFixed(9);
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${s}s`;
}
