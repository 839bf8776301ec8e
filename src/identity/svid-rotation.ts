/** When to renew a certificate: at half its lifetime, ±10 % jitter so a fleet does not renew in step (Istio's rule). */
export function renewalDelayMs(ttlMs: number, random: () => number = Math.random): number {
  const half = ttlMs / 2;
  return Math.max(1000, half + (random() * 2 - 1) * half * 0.1);
}

/**
 * Keeps one identity's SVID fresh: issues now, then again at each half-life, until stopped. Failures
 * are retried sooner (a tenth of the lifetime) so a CA hiccup never lets the certificate expire.
 */
export async function keepRenewing(issue: () => Promise<Date>, ttlMs: number, onError: (err: Error) => void, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    let delay: number;
    try {
      await issue();
      delay = renewalDelayMs(ttlMs);
    } catch (err) {
      onError(err as Error);
      delay = Math.max(1000, ttlMs / 10);
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, delay);
      signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
  }
}
