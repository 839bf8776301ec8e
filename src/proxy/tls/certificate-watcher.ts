import { unwatchFile, watchFile, type Stats } from 'node:fs';
import type { ResourceSnapshot } from '../../model/bootstrap.js';

/** Polling interval: certificate rotation is hours apart, and polling survives atomic renames. */
const POLL_MS = 1000;
const SETTLE_MS = 250;

/** Every certificate chain and trust bundle file the snapshot reads (keys are never files here). */
export function certificateFiles(snapshot: ResourceSnapshot): string[] {
  const files = new Set<string>();
  const walk = (v: unknown, key: string): void => {
    if (Array.isArray(v)) v.forEach((x) => walk(x, key));
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ((key === 'certificateChain' || key === 'trustedCa') && typeof o.filename === 'string') files.add(o.filename);
      for (const [k, child] of Object.entries(o)) walk(child, k);
    }
  };
  walk(snapshot, '');
  return [...files];
}

/**
 * Watches certificate and trust-bundle files, SDS-style: when the identity agent or `bulwark ca issue`
 * writes a new certificate (rotation) or the bundle gains a root (root rotation), the proxy reloads,
 * live connections keep their old context and new handshakes use the new one.
 */
export class CertificateWatcher {
  private watched = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly listener = (cur: Stats, prev: Stats): void => {
    if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size && cur.ino === prev.ino) return;
    if (this.timer) clearTimeout(this.timer);
    // Writers replace a file in steps; wait for it to settle.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onChange();
    }, SETTLE_MS);
  };

  constructor(private readonly onChange: () => void) {}

  watch(files: readonly string[]): void {
    const next = new Set(files);
    for (const f of this.watched) if (!next.has(f)) unwatchFile(f, this.listener);
    for (const f of next) if (!this.watched.has(f)) watchFile(f, { interval: POLL_MS, persistent: false }, this.listener);
    this.watched = next;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const f of this.watched) unwatchFile(f, this.listener);
    this.watched.clear();
  }
}
