/**
 * Envoy's jittered exponential back-off (JitteredExponentialBackOffStrategy): before retry n
 * (1-based) the delay is drawn from [0, (2^n - 1) * base), windows of 1, 3, 7, ... times base, and
 * capped at max. `random` is in [0, 1).
 */
export function retryBackOffMs(retry: number, base: number, max: number, random: number): number {
  return Math.min(random * (2 ** Math.min(retry, 30) - 1) * base, max);
}
