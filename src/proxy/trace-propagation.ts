import { rewriteTraceHeadersWith } from '../telemetry/trace-context.js';
import type { TracePropagator } from './stream-telemetry.js';

/**
 * Continues the incoming trace (W3C traceparent or B3) with a span for this hop, or starts one;
 * `sampleNewTrace` decides sampling for traces this proxy starts.
 */
export function createTracePropagator(sampleNewTrace = false): TracePropagator {
  return (headers: string[]) => rewriteTraceHeadersWith(headers, sampleNewTrace).traceparent;
}
