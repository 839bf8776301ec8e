/** Fortio's -connection-reuse: the range a connection's reuse threshold is drawn from; [0, 0] for unlimited. */
export type ReuseRange = [number, number];

export class ReuseRangeError extends Error {}

/**
 * Parses "min:max" or "n" as Fortio's ValidateAndSetConnectionReuseRange does: Go integers, the
 * bounds put in order (fhttp/http_client.go).
 */
export function parseReuseRange(text: string): ReuseRange {
  if (text === '') return [0, 0];
  const parts = text.split(':');
  if (parts.length > 2) throw new ReuseRangeError('more than two integers were provided in the connection reuse range');
  const values = parts.map((p) => {
    // Go's strconv.Atoi: an optional sign and digits.
    if (!/^[+-]?\d+$/.test(p)) throw new ReuseRangeError(`invalid value for connection reuse range, err: strconv.Atoi: parsing ${JSON.stringify(p)}: invalid syntax`);
    return Number(p);
  });
  const [a, b = a] = values as [number, number?];
  return a <= b ? [a, b] : [b, a];
}

/** A connection's threshold: the calls it carries before it closes (Fortio's generateReuseThreshold); 0 for unlimited. */
export function drawReuseThreshold([min, max]: ReuseRange, random: () => number = Math.random): number {
  return min === max ? min : min + Math.floor(random() * (max - min + 1));
}
