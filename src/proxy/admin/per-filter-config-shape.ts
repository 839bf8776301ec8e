import type { CorsPolicy } from '../../model/cors.js';
import type { PerFilterFault } from '../../model/fault.js';
import { perFilterCorsConfig } from './cors-policy-shape.js';
import { faultTypedPerFilterConfig } from './envoy-fault-config.js';
import { toEnvoyJson, Verbatim } from './envoy-json.js';

/**
 * A route's, virtual host's or route configuration's typed_per_filter_config as Envoy prints it: the
 * fault filter's entry (already proto3 JSON, under the filter's own name) beside the CORS policy.
 */
export function typedPerFilterConfigShape(fault: PerFilterFault | undefined, cors: CorsPolicy | undefined): unknown {
  const faultEntry = faultTypedPerFilterConfig(fault);
  const corsEntry = perFilterCorsConfig(cors);
  if (faultEntry === undefined) return corsEntry;
  if (corsEntry === undefined) return faultEntry;
  return new Verbatim({ ...(faultEntry.value as object), ...(toEnvoyJson(corsEntry) as object) });
}
