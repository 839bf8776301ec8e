import net from 'node:net';
import { proxyLogger } from '../proxy-log.js';

const custodyLog = proxyLogger('key_custody');

const PROBE_MS = 500;

/** keyd's socket from the p11-kit client address the proxy runs with ("unix:path=/…/pkcs11.sock"). */
export function keydSocketPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const m = /^unix:path=(.+)$/.exec(env.P11_KIT_SERVER_ADDRESS ?? '');
  return m?.[1];
}

function reachable(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** How the primary replaces workers for key custody. */
export interface CustodyWorkerReplacer {
  /** Every worker, one at a time (keyd is back after an outage: every session is gone). */
  replaceWorkers(): Promise<void>;
  /** One worker, whose own PKCS#11 session is broken while keyd answers. */
  replaceWorker(index: number): Promise<void>;
}

/**
 * Recovery from custody failures, which workers report. Handshakes fail closed whatever the cause;
 * what follows depends on it. keyd's socket does not answer: an outage, and once keyd answers again
 * every worker is replaced one at a time (drain, exit, fork), as no PKCS#11 session survives it.
 * keyd answers: a failure is counted and that handshake alone fails (a passing collision in the token
 * must not recycle the proxy), and only a worker that fails SESSION_BROKEN_AFTER handshakes in a row,
 * whose own session is gone, is replaced. Either way capacity stays up and no other worker's
 * connection is cut.
 */
export class CustodyRecovery {
  private outageUnderWay = false;
  private stopped = false;
  private readonly replacing = new Set<number>();

  constructor(
    private readonly socketPath: string,
    private readonly replacer: CustodyWorkerReplacer,
  ) {}

  /** A worker's handshake failed for custody, the first since one signed: an outage if keyd does not answer. */
  async failure(worker: number): Promise<void> {
    if (this.outageUnderWay || this.stopped) return;
    if (!(await reachable(this.socketPath))) return this.outage(worker);
    custodyLog('warn', 'key custody failed a handshake while keyd answers: the handshake failed closed, the worker keeps serving', { worker, socket: this.socketPath });
  }

  /** A worker failed handshakes for custody several times in a row: its session is broken, or keyd is away. */
  async sessionBroken(worker: number, failures: number): Promise<void> {
    if (this.outageUnderWay || this.stopped || this.replacing.has(worker)) return;
    if (!(await reachable(this.socketPath))) return this.outage(worker);
    if (this.outageUnderWay || this.stopped) return;
    custodyLog('error', "a worker's PKCS#11 session is broken while keyd answers: replacing that worker", { worker, failures, socket: this.socketPath });
    this.replacing.add(worker);
    try {
      await this.replacer.replaceWorker(worker);
    } finally {
      this.replacing.delete(worker);
    }
  }

  stop(): void {
    this.stopped = true;
  }

  private outage(worker: number): void {
    if (this.outageUnderWay || this.stopped) return;
    this.outageUnderWay = true;
    custodyLog('error', 'key custody lost: new TLS handshakes fail closed until keyd is back', { worker, socket: this.socketPath });
    void this.waitAndReplace();
  }

  private async waitAndReplace(): Promise<void> {
    while (!this.stopped && !(await reachable(this.socketPath))) await new Promise((r) => setTimeout(r, PROBE_MS));
    if (this.stopped) return;
    custodyLog('info', 'keyd answers again: replacing workers to reconnect to it', { socket: this.socketPath });
    try {
      await this.replacer.replaceWorkers();
    } finally {
      this.outageUnderWay = false;
    }
  }
}
