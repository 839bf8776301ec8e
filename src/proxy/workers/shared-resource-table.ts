import { createSharedRegion, openSharedRegion } from '../../util/shared-memory.js';
import { proxyLogger } from '../proxy-log.js';
import { processLocalCounts, RESOURCE_CELLS, ResourceCounts, type ResourceCountsSource } from '../upstream/resource-counts.js';
import { ClusterSlotLedger } from './cluster-slot-ledger.js';

const upstreamLog = proxyLogger('upstream');

/**
 * The workers' resource counts in one shared memory region: a row per worker process, a slot per
 * cluster in each row, a cell per resource in each slot. A worker writes only its own row; a breaker
 * sums the cluster's column over the rows. The primary gives each worker a row (freed and zeroed when
 * the worker exits, so a crashed worker's counts do not stay in force) and each cluster name a slot,
 * the same in every worker, given back once no worker counts in it (cluster-slot-ledger.ts).
 */

/** Clusters a table can count at once by default; clusters beyond it are counted per worker, with a warning. */
export const CLUSTER_SLOTS = 4096;

/** The most BULWARK_CLUSTER_SLOTS may ask for (1 MiB of table per worker row). */
const MAX_CLUSTER_SLOTS = 65_536;

/**
 * The table's cluster slots: BULWARK_CLUSTER_SLOTS when set (a config with more clusters at once than
 * the default), else CLUSTER_SLOTS.
 */
export function clusterSlotsFrom(env: NodeJS.ProcessEnv): number {
  const text = env.BULWARK_CLUSTER_SLOTS;
  if (text === undefined || text === '') return CLUSTER_SLOTS;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_CLUSTER_SLOTS) throw new Error(`BULWARK_CLUSTER_SLOTS must be an integer from 1 to ${MAX_CLUSTER_SLOTS}, not "${text}"`);
  return n;
}

/** What a worker needs to map the table (part of its settings). */
export interface ResourceTableAttachment {
  path: string;
  row: number;
  rows: number;
  clusterSlots: number;
}

function bytesFor(rows: number, clusterSlots: number): number {
  return rows * clusterSlots * RESOURCE_CELLS * Int32Array.BYTES_PER_ELEMENT;
}

/** The primary's side: owns the region, hands out rows and cluster slots. */
export class ResourceTableOwner {
  private readonly cells: Int32Array;
  private readonly rowInUse: boolean[];
  private readonly ledger: ClusterSlotLedger;
  private readonly stride: number;

  private constructor(
    private readonly path: string,
    buffer: ArrayBuffer,
    private readonly rows: number,
    private readonly clusterSlots: number,
  ) {
    this.cells = new Int32Array(buffer);
    this.rowInUse = new Array<boolean>(rows).fill(false);
    this.ledger = new ClusterSlotLedger(clusterSlots, rows);
    this.stride = clusterSlots * RESOURCE_CELLS;
  }

  /**
   * A table for `workers` processes, with a spare row each for a replacement started before the one it
   * replaces has exited; undefined when memory cannot be shared here (the native addon is not built).
   */
  static create(workers: number, clusterSlots = CLUSTER_SLOTS): ResourceTableOwner | undefined {
    const rows = workers * 2;
    const region = createSharedRegion(bytesFor(rows, clusterSlots));
    return region && new ResourceTableOwner(region.path, region.buffer, rows, clusterSlots);
  }

  /** A free row for a new worker, or undefined when every row is taken. */
  claimRow(): ResourceTableAttachment | undefined {
    const row = this.rowInUse.indexOf(false);
    if (row < 0) return undefined;
    this.rowInUse[row] = true;
    return { path: this.path, row, rows: this.rows, clusterSlots: this.clusterSlots };
  }

  /** Frees an exited worker's row; its counts stop counting against the limits. */
  releaseRow(row: number): void {
    this.cells.fill(0, row * this.stride, (row + 1) * this.stride);
    this.rowInUse[row] = false;
    this.ledger.forget(row);
  }

  /** The slot of each named cluster, for a config about to be sent (see sent). */
  slotsFor(clusters: readonly string[]): Record<string, number> {
    return this.ledger.assign(clusters);
  }

  /** The config with `slots` was sent to the worker of `row`: until it answers, those slots stay its. */
  sent(row: number, slots: Record<string, number>): void {
    this.ledger.sent(row, slots);
  }

  /** The worker of `row` answered its oldest config and counts in `holding` now. */
  answered(row: number, holding: readonly number[]): void {
    this.ledger.answered(row, holding);
  }

  /** Gives back the slots no worker counts in any more, but those of `live` cluster names; returns the names freed. */
  reclaim(live: ReadonlySet<string>): string[] {
    return this.ledger.reclaim(live);
  }
}

/** A worker's side: its row of the table, and the primary's slot for each cluster of the current config. */
export class WorkerResourceTable implements ResourceCountsSource {
  private readonly cells: Int32Array;
  private readonly stride: number;
  private slots: Record<string, number> = {};
  /** The counts this worker writes in the table, by their slot: what it reports to the primary. */
  private readonly attached = new Map<ResourceCounts, number>();

  constructor(private readonly attachment: ResourceTableAttachment) {
    const buffer = openSharedRegion(attachment.path, bytesFor(attachment.rows, attachment.clusterSlots));
    if (buffer === undefined) throw new Error('shared memory is not available in this worker');
    this.cells = new Int32Array(buffer);
    this.stride = attachment.clusterSlots * RESOURCE_CELLS;
  }

  /** Takes the slots the primary assigned for the config about to be applied. */
  useSlots(slots: Record<string, number>): void {
    this.slots = slots;
  }

  countsFor(cluster: string): ResourceCounts {
    const slot = this.slots[cluster];
    if (slot === undefined) {
      upstreamLog('warn', "circuit breaker limits of this cluster are counted per worker: the shared table's cluster slots are all taken (BULWARK_CLUSTER_SLOTS)", { cluster, slots: this.attachment.clusterSlots });
      return processLocalCounts();
    }
    const first = slot * RESOURCE_CELLS;
    const counts = new ResourceCounts(this.cells, this.attachment.row * this.stride + first, first, this.stride, this.attachment.rows);
    this.attached.set(counts, slot);
    return counts;
  }

  release(counts: ResourceCounts): void {
    if (!this.attached.delete(counts)) return;
    counts.detach();
  }

  /** The slots this worker counts in now, sent with each answer to a config. */
  heldSlots(): number[] {
    return [...this.attached.values()];
  }
}
