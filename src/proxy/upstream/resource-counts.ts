/** The resources a cluster's circuit breakers bound, as offsets into a cluster's cells. */
export const Resource = { connections: 0, pending: 1, requests: 2, retries: 3 } as const;

/** Cells per cluster: one per resource. */
export const RESOURCE_CELLS = 4;

/**
 * One cluster's counts of resources in use (open connections, pending and active requests, active
 * retries). This process writes only its own cells; a breaker compares the sum over every worker's
 * cells with its limit, as Envoy's worker threads share one count per cluster. Each cell has one
 * writer, so plain reads and writes suffice: a reader may see another worker's count a moment late,
 * the same race Envoy's check-then-increment has.
 */
export class ResourceCounts {
  constructor(
    private cells: Int32Array,
    /** Where this process's cells for the cluster start. */
    private own: number,
    /** Where the first worker's cells for the cluster start. */
    private first: number,
    /** Cells from one worker's row to the next. */
    private stride: number,
    private rows: number,
  ) {}

  /**
   * Stops counting in the shared cells, for a cluster this process no longer runs: its counts move to
   * cells of this process's own, where its requests still in flight finish, and its shared cells are
   * zeroed. So the slot can go to another cluster without inheriting these counts, and without being
   * decremented when these requests end.
   */
  detach(): void {
    const kept = this.cells.slice(this.own, this.own + RESOURCE_CELLS);
    this.cells.fill(0, this.own, this.own + RESOURCE_CELLS);
    this.cells = kept;
    this.own = 0;
    this.first = 0;
    this.stride = RESOURCE_CELLS;
    this.rows = 1;
  }

  /** This process's count of the resource at `offset`. */
  local(offset: number): number {
    return this.cells[this.own + offset]!;
  }

  /** Sets this process's count of the resource at `offset`. */
  setLocal(offset: number, value: number): void {
    this.cells[this.own + offset] = value;
  }

  /** The count across every worker: what the breaker's limit bounds. */
  total(offset: number): number {
    let sum = 0;
    for (let i = this.first + offset, row = 0; row < this.rows; row++, i += this.stride) sum += this.cells[i]!;
    return sum;
  }
}

/** Counts seen by this process alone (one process, or no shared memory). */
export function processLocalCounts(): ResourceCounts {
  return new ResourceCounts(new Int32Array(RESOURCE_CELLS), 0, 0, RESOURCE_CELLS, 1);
}

/** Where a cluster's counts live: this process alone, or memory shared by the workers. */
export interface ResourceCountsSource {
  countsFor(cluster: string): ResourceCounts;
  /** The cluster these counts were made for left the config (its requests in flight may still end). */
  release(counts: ResourceCounts): void;
}

export const PROCESS_LOCAL_COUNTS: ResourceCountsSource = { countsFor: processLocalCounts, release: () => undefined };
