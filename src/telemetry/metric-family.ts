/** What a family does with its series when the primary adds up the workers' snapshots. */
/**
 * How the primary combines the workers' values: add them up; keep each worker's apart (a worker
 * label); or take the largest, for a gauge every worker reports for the same thing (hosts ejected
 * right now, which workers share).
 */
export type MergeMode = 'sum' | 'per-worker' | 'max';

/** A metric or label name breaks the Prometheus naming rules, or label values do not fit the family. */
export class MetricsError extends Error {
  override name = 'MetricsError';
}

/** A series created by `bind`, remembered with its label values so it can be exported. */
export interface BoundSeries<Child> {
  readonly labels: readonly string[];
  readonly child: Child;
}

/**
 * The part every family shares: a name, help text, label names, and the bound children.
 * Binding costs a map lookup and is meant to happen once per label set, not per request;
 * the child it returns only touches numbers.
 */
export abstract class MetricFamily<Child> {
  private readonly byKey = new Map<string, Child>();
  /** Bound children in creation order, for snapshots. */
  readonly series: Array<BoundSeries<Child>> = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly merge: MergeMode,
  ) {}

  /** Returns the child for these label values (in labelNames order), creating it on first use. */
  bind(labelValues: readonly string[] = []): Child {
    if (labelValues.length !== this.labelNames.length) {
      throw new MetricsError(`metric ${this.name}: ${labelValues.length} label values for labels [${this.labelNames.join(', ')}]`);
    }
    // Bind-time only: a JSON key is unambiguous whatever characters the values hold.
    const key = labelValues.length === 0 ? '' : JSON.stringify(labelValues);
    let child = this.byKey.get(key);
    if (child === undefined) {
      for (const v of labelValues) {
        if (typeof v !== 'string') throw new MetricsError(`metric ${this.name}: label values must be strings`);
      }
      child = this.createChild();
      this.byKey.set(key, child);
      this.series.push({ labels: [...labelValues], child });
    }
    return child;
  }

  /** Forgets the series whose value for `labelName` is not in `keep`; their children stop being exported. */
  keepOnly(labelName: string, keep: ReadonlySet<string>): void {
    const at = this.labelNames.indexOf(labelName);
    if (at < 0) return;
    for (let i = this.series.length - 1; i >= 0; i--) {
      const { labels } = this.series[i]!;
      if (keep.has(labels[at]!)) continue;
      this.byKey.delete(labels.length === 0 ? '' : JSON.stringify(labels));
      this.series.splice(i, 1);
    }
  }

  protected abstract createChild(): Child;
}
