import type { Bootstrap } from '../model/bootstrap.js';

/** The process that owns listeners and admin: one process, or a primary with workers. */
export interface ProxySupervisor {
  start(): Promise<void>;
  /** Applies a new bootstrap; resolves to an error message when it was rejected (the old one stays). */
  reload(next: Bootstrap): Promise<string | undefined>;
  shutdown(why: string, drainMs?: number): Promise<void>;
  /** Opens every access log file again by path, in every worker (log rotation: SIGUSR1, /reopen_logs). */
  reopenLogs(): void;
}
