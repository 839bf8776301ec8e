import { proxyLogger } from '../proxy-log.js';

const upstreamLog = proxyLogger('upstream');

/** At most one warning per cluster and reason in this window: a broken upstream fails every connection. */
const WINDOW_MS = 10_000;
/** Entries beyond this are forgotten (oldest first) so odd reasons cannot grow the map without bound. */
const MAX_ENTRIES = 1_000;

interface Entry {
  loggedAt: number;
  suppressed: number;
}

const entries = new Map<string, Entry>();

/**
 * Logs an upstream TLS handshake failure (cluster, host and reason; never certificates or keys),
 * rate-limited per cluster and reason; the next line says how many were not logged in between.
 */
export function logUpstreamTlsFailure(cluster: string, host: string, reason: string, now = Date.now()): void {
  const key = `${cluster}\n${reason}`;
  const entry = entries.get(key);
  if (entry !== undefined && now - entry.loggedAt < WINDOW_MS) {
    entry.suppressed++;
    return;
  }
  const suppressed = entry?.suppressed ?? 0;
  entries.delete(key);
  if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
  entries.set(key, { loggedAt: now, suppressed: 0 });
  upstreamLog('warn', 'upstream TLS handshake failed', { cluster, host, reason, ...(suppressed > 0 ? { suppressedSinceLast: suppressed } : {}) });
}
