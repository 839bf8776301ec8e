import { rewriteTraceHeadersWith } from '../telemetry/trace-context.js';
import type { TracePropagator } from './stream-telemetry.js';

/**
 * Continues the incoming trace (W3C traceparent or B3) with a span for this hop, or starts one;
 * the caller's `sampleNewTrace` decides sampling for a trace that arrives without a decision.
 */
export function createTracePropagator(): TracePropagator {
  return (headers: string[], sampleNewTrace: boolean) => rewriteTraceHeadersWith(headers, sampleNewTrace).traceparent;
}
