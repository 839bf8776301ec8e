/**
 * Rounds of an order sent to every live worker, each answered by an acknowledgement carrying the
 * round's id: an admin call that changes every worker answers once each took the change (or the
 * timeout passed), so a request sent after the answer meets it on any worker.
 */
export class AckRounds {
  private seq = 0;
  private readonly waiting = new Map<number, { want: number; done: () => void }>();

  /** Starts a round for `workers` acknowledgements; `send` sends the order with the round's id. */
  run(workers: number, timeoutMs: number, send: (id: number) => void): Promise<void> {
    const id = ++this.seq;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiting.set(id, { want: workers, done });
      if (workers === 0) done();
      else send(id);
    });
  }

  /** A worker acknowledged round `id`. */
  acknowledged(id: number): void {
    const w = this.waiting.get(id);
    if (w !== undefined && --w.want === 0) w.done();
  }
}
