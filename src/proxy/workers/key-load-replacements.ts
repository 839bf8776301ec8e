/** Fresh processes tried for one worker slot before its key-load refusal is final. */
const MAX_ATTEMPTS = 3;
const FIRST_BACKOFF_MS = 500;

/**
 * Bounded replacement of a worker whose first key load key custody refused after the worker's own
 * retries. The pkcs11 engine keeps a token it saw mid-rewrite (another process logging in) as
 * uninitialized, so no retry inside that process can succeed; a fresh process has a fresh engine
 * and a fresh keyd connection. Back-off doubles per attempt (0.5 s, 1 s, 2 s), so a token that is
 * really broken is not hammered, and a start that cannot succeed still fails within its deadline.
 */
export class KeyLoadReplacements {
  private readonly attempts = new Map<number, number>();

  /** The wait before worker `index`'s next fresh process, or undefined when its attempts are spent. */
  next(index: number): { attempt: number; backoffMs: number } | undefined {
    const attempt = (this.attempts.get(index) ?? 0) + 1;
    if (attempt > MAX_ATTEMPTS) return undefined;
    this.attempts.set(index, attempt);
    return { attempt, backoffMs: FIRST_BACKOFF_MS * 2 ** (attempt - 1) };
  }

  /** Worker `index` loaded its keys: later trouble starts a fresh count. */
  succeeded(index: number): void {
    this.attempts.delete(index);
  }
}
