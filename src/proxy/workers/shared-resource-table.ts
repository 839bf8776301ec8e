import { createSharedRegion, openSharedRegion } from '../../util/shared-memory.js';
import { processLocalCounts, RESOURCE_CELLS, ResourceCounts, type ResourceCountsSource } from '../upstream/resource-counts.js';

/**
 * The workers' resource counts in one shared memory region: a row per worker process, a slot per
 * cluster in each row, a cell per resource in each slot. A worker writes only its own row; a breaker
 * sums the cluster's column over the rows. The primary gives each worker a row (freed and zeroed when
 * the worker exits, so a crashed worker's counts do not stay in force) and each cluster name a slot,
 * the same in every worker.
 */

/** Clusters a table can count; clusters beyond it are counted per worker, with a warning. */
export const CLUSTER_SLOTS = 4096;

/** What a worker needs to map the table (part of its settings). */
export interface ResourceTableAttachment {
  path: string;
  row: number;
  rows: number;
}

function bytesFor(rows: number): number {
  return rows * CLUSTER_SLOTS * RESOURCE_CELLS * Int32Array.BYTES_PER_ELEMENT;
}

const STRIDE = CLUSTER_SLOTS * RESOURCE_CELLS;

/** The primary's side: owns the region, hands out rows and cluster slots. */
export class ResourceTableOwner {
  private readonly cells: Int32Array;
  private readonly rowInUse: boolean[];
  private readonly slots = new Map<string, number>();

  private constructor(
    private readonly path: string,
    buffer: ArrayBuffer,
    private readonly rows: number,
  ) {
    this.cells = new Int32Array(buffer);
    this.rowInUse = new Array<boolean>(rows).fill(false);
  }

  /**
   * A table for `workers` processes, with a spare row each for a replacement started before the one it
   * replaces has exited; undefined when memory cannot be shared here (the native addon is not built).
   */
  static create(workers: number): ResourceTableOwner | undefined {
    const rows = workers * 2;
    const region = createSharedRegion(bytesFor(rows));
    return region && new ResourceTableOwner(region.path, region.buffer, rows);
  }

  /** A free row for a new worker, or undefined when every row is taken. */
  claimRow(): ResourceTableAttachment | undefined {
    const row = this.rowInUse.indexOf(false);
    if (row < 0) return undefined;
    this.rowInUse[row] = true;
    return { path: this.path, row, rows: this.rows };
  }

  /** Frees an exited worker's row; its counts stop counting against the limits. */
  releaseRow(row: number): void {
    this.cells.fill(0, row * STRIDE, (row + 1) * STRIDE);
    this.rowInUse[row] = false;
  }

  /**
   * The slot of each named cluster, the same for a name across configs (a kept cluster's in-flight
   * counts stay in place); names beyond the table's room get none.
   */
  slotsFor(clusters: readonly string[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of clusters) {
      let slot = this.slots.get(name);
      if (slot === undefined && this.slots.size < CLUSTER_SLOTS) {
        slot = this.slots.size;
        this.slots.set(name, slot);
      }
      if (slot !== undefined) out[name] = slot;
    }
    return out;
  }
}

/** A worker's side: its row of the table, and the primary's slot for each cluster of the current config. */
export class WorkerResourceTable implements ResourceCountsSource {
  private readonly cells: Int32Array;
  private slots: Record<string, number> = {};

  constructor(private readonly attachment: ResourceTableAttachment) {
    const buffer = openSharedRegion(attachment.path, bytesFor(attachment.rows));
    if (buffer === undefined) throw new Error('shared memory is not available in this worker');
    this.cells = new Int32Array(buffer);
  }

  /** Takes the slots the primary assigned for the config about to be applied. */
  useSlots(slots: Record<string, number>): void {
    this.slots = slots;
  }

  countsFor(cluster: string): ResourceCounts {
    const slot = this.slots[cluster];
    if (slot === undefined) return processLocalCounts();
    const first = slot * RESOURCE_CELLS;
    return new ResourceCounts(this.cells, this.attachment.row * STRIDE + first, first, STRIDE, this.attachment.rows);
  }
}
