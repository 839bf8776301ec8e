import { CounterFamily } from './counter.js';
import { GaugeFamily } from './gauge.js';
import { HistogramFamily } from './histogram.js';
import { MetricsError, type MergeMode } from './metric-family.js';
import type { FamilySnapshot, MetricsSnapshot } from './metrics-snapshot.js';
import { renderPrometheusText } from './prometheus-text.js';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The label a per-worker family gets in snapshots. */
export const WORKER_LABEL = 'worker';

/** Options for one family. */
export interface FamilyOptions {
  /** 'sum' (default) adds the workers' values up; 'per-worker' keeps one series per worker under a `worker` label. */
  merge?: MergeMode;
}

/** Options for a registry. */
export interface RegistryOptions {
  /** This process's worker id, used for per-worker families; "0" when there is a single process. */
  worker?: string;
}

type AnyFamily = CounterFamily | GaugeFamily | HistogramFamily;

/**
 * The metric families of one process. Families are registered once (at start-up or on config
 * change); registering the same name again with the same shape returns the existing family.
 */
export class MetricsRegistry {
  readonly worker: string;
  private readonly families = new Map<string, AnyFamily>();

  constructor(options: RegistryOptions = {}) {
    this.worker = options.worker ?? '0';
  }

  /** Registers (or returns) a counter family. Prometheus convention: the name ends in `_total`. */
  counter(name: string, help: string, labelNames: readonly string[] = [], options: FamilyOptions = {}): CounterFamily {
    return this.register(name, 'counter', labelNames, options, [], () => new CounterFamily(name, help, labelNames, options.merge ?? 'sum'));
  }

  /** Registers (or returns) a gauge family. */
  gauge(name: string, help: string, labelNames: readonly string[] = [], options: FamilyOptions = {}): GaugeFamily {
    return this.register(name, 'gauge', labelNames, options, [], () => new GaugeFamily(name, help, labelNames, options.merge ?? 'sum'));
  }

  /** Registers (or returns) a histogram family with fixed, ascending, finite bucket bounds (+Inf is implied). */
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    bounds: readonly number[],
    options: FamilyOptions = {},
  ): HistogramFamily {
    return this.register(name, 'histogram', labelNames, options, bounds, () => new HistogramFamily(name, help, labelNames, options.merge ?? 'sum', bounds));
  }

  /** A plain JSON-serialisable copy of every family, for the primary to merge. */
  snapshot(): MetricsSnapshot {
    const families: FamilySnapshot[] = [];
    for (const family of this.families.values()) families.push(this.snapshotFamily(family));
    return { families };
  }

  /** Every counter series back to zero (Envoy's /reset_counters); gauges and histograms are left as they are. */
  resetCounters(): void {
    for (const family of this.families.values()) {
      if (family instanceof CounterFamily) for (const { child } of family.series) child.value = 0;
    }
  }

  /** This registry alone in the Prometheus text format. */
  render(): string {
    return renderPrometheusText(this.snapshot());
  }

  private snapshotFamily(family: AnyFamily): FamilySnapshot {
    const perWorker = family.merge === 'per-worker';
    const labelNames = perWorker ? [...family.labelNames, WORKER_LABEL] : [...family.labelNames];
    const labelsOf = (labels: readonly string[]): string[] => (perWorker ? [...labels, this.worker] : [...labels]);
    const base = { name: family.name, help: family.help, labelNames };
    if (family instanceof HistogramFamily) {
      return {
        ...base,
        type: 'histogram',
        bounds: Array.from(family.bounds),
        series: family.series.map(({ labels, child }) => ({
          labels: labelsOf(labels),
          buckets: Array.from(child.counts),
          sum: child.sum,
          count: child.count,
        })),
      };
    }
    return {
      ...base,
      type: family.type,
      ...(family.merge === 'max' ? { merge: 'max' as const } : {}),
      series: (family.series as ReadonlyArray<{ labels: readonly string[]; child: { value: number } }>).map(({ labels, child }) => ({
        labels: labelsOf(labels),
        value: child.value,
      })),
    };
  }

  private register<F extends AnyFamily>(
    name: string,
    type: F['type'],
    labelNames: readonly string[],
    options: FamilyOptions,
    bounds: readonly number[],
    create: () => F,
  ): F {
    const existing = this.families.get(name);
    if (existing !== undefined) {
      const sameBounds = !(existing instanceof HistogramFamily) || (existing.bounds.length === bounds.length && bounds.every((b, i) => existing.bounds[i] === b));
      if (existing.type !== type || existing.merge !== (options.merge ?? 'sum') || !sameList(existing.labelNames, labelNames) || !sameBounds) {
        throw new MetricsError(`metric ${name} is already registered with a different type, labels, merge mode or buckets`);
      }
      return existing as F;
    }
    if (!METRIC_NAME.test(name)) throw new MetricsError(`metric name ${JSON.stringify(name)} is not a valid Prometheus name`);
    const reserved = new Set(type === 'histogram' ? ['le'] : []);
    if (options.merge === 'per-worker') reserved.add(WORKER_LABEL);
    const seen = new Set<string>();
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new MetricsError(`metric ${name}: label name ${JSON.stringify(label)} is not valid`);
      if (reserved.has(label)) throw new MetricsError(`metric ${name}: label name "${label}" is reserved here`);
      if (seen.has(label)) throw new MetricsError(`metric ${name}: label name "${label}" appears twice`);
      seen.add(label);
    }
    const family = create();
    this.families.set(name, family);
    return family;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
