/** A run stopped before it started; the CLI prints "Aborting because of <message>" and exits 1, as Fortio. */
export class LoadAbortedError extends Error {
  override name = 'LoadAbortedError';
}
