/**
 * Envoy's /memory (admin.v3.Memory, proto3 JSON: 64-bit figures as strings) from V8's figures,
 * added up over the primary and its workers. `allocated` is what JavaScript holds (heap in use and
 * external buffers), `heap_size` the V8 heaps' size and `total_physical_bytes` the resident set.
 * tcmalloc's page heap and thread cache figures have no V8 counterpart and are left out (proto3
 * JSON leaves out zeros).
 */

/** One process's memory figures, in bytes. */
export interface MemoryFigures {
  heapUsed: number;
  heapTotal: number;
  external: number;
  rss: number;
}

/** This process's figures. */
export function processMemory(): MemoryFigures {
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, rss: m.rss };
}

/** Several processes' figures added up. */
export function addMemory(all: readonly MemoryFigures[]): MemoryFigures {
  const sum: MemoryFigures = { heapUsed: 0, heapTotal: 0, external: 0, rss: 0 };
  for (const m of all) {
    sum.heapUsed += m.heapUsed;
    sum.heapTotal += m.heapTotal;
    sum.external += m.external;
    sum.rss += m.rss;
  }
  return sum;
}

/** The /memory body. */
export function renderMemory(m: MemoryFigures): unknown {
  return { allocated: String(m.heapUsed + m.external), heap_size: String(m.heapTotal), total_physical_bytes: String(m.rss) };
}
