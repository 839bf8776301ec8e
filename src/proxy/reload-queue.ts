/**
 * Runs config reloads one at a time. Run at once (a SIGHUP while a certificate rotation's reload is under
 * way), each reload rolled back to the config it started from, so a refused one could put back a config
 * older than the one applied beside it. A reload asked for while one runs waits for it; several asked for
 * meanwhile are one, since each would read the same file when it starts.
 */
export class ReloadQueue {
  private running = false;
  /** The reason of the reload waiting for the running one, if any. */
  private waiting: string | undefined;

  /** `onFailure` hears a reload that threw (a fault, not a refused config, which `reload` reports itself). */
  constructor(
    private readonly reload: (reason: string) => Promise<void>,
    private readonly onFailure: (err: unknown, reason: string) => void,
  ) {}

  /** Reloads now, or once the reload under way is done. */
  request(reason: string): void {
    if (this.running) {
      this.waiting ??= reason;
      return;
    }
    this.run(reason);
  }

  private run(reason: string): void {
    this.running = true;
    void this.reload(reason)
      .catch((err: unknown) => this.onFailure(err, reason))
      .finally(() => {
        this.running = false;
        const next = this.waiting;
        this.waiting = undefined;
        if (next !== undefined) this.run(next);
      });
  }
}
