import net from 'node:net';
import { proxyLog } from '../proxy-log.js';

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

/**
 * Recovery from a keyd outage. Handshakes fail closed while keyd is away; a worker's PKCS#11 session
 * cannot come back inside that process, so once keyd answers again the workers are replaced one at a
 * time (drain, exit, fork): capacity stays up and no live connection is cut.
 */
export class CustodyRecovery {
  private running = false;
  private stopped = false;

  constructor(
    private readonly socketPath: string,
    private readonly replaceWorkers: () => Promise<void>,
  ) {}

  /** A worker reported the outage; starts waiting for keyd unless already waiting. */
  outage(worker: number): void {
    if (this.running || this.stopped) return;
    this.running = true;
    proxyLog('error', 'key custody lost: new TLS handshakes fail closed until keyd is back', { worker, socket: this.socketPath });
    void this.waitAndReplace();
  }

  stop(): void {
    this.stopped = true;
  }

  private async waitAndReplace(): Promise<void> {
    while (!this.stopped && !(await reachable(this.socketPath))) await new Promise((r) => setTimeout(r, PROBE_MS));
    if (this.stopped) return;
    proxyLog('info', 'keyd answers again: replacing workers to reconnect to it', { socket: this.socketPath });
    try {
      await this.replaceWorkers();
    } finally {
      this.running = false;
    }
  }
}
