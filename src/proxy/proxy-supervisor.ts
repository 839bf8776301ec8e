import type { Bootstrap } from '../model/bootstrap.js';

/** The process that owns listeners and admin: one process, or a primary with workers. */
export interface ProxySupervisor {
  start(): Promise<void>;
  /** Applies a new bootstrap; resolves to an error message when it was rejected (the old one stays). */
  reload(next: Bootstrap): Promise<string | undefined>;
  /** A reload refused before it reached the proxy (an invalid file): counted and shown as one the proxy refused. */
  reloadRejected(error: string): void;
  shutdown(why: string, drainMs?: number): Promise<void>;
  /**
   * During a drain (a second SIGTERM or SIGINT): stop waiting for in-flight requests, stop the workers
   * cleanly now and exit. Does nothing when no drain is under way.
   */
  endDrain(why: string): void;
  /** Opens every access log file again by path, in every worker (log rotation: SIGUSR1, /reopen_logs). */
  reopenLogs(): void;
}
