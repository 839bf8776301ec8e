/**
 * Reads a typedPerFilterConfig map (a route's, virtual host's or route configuration's), keyed by
 * the name of the HTTP filter each entry configures. The fault filter's entries are read, and the
 * CORS filter's where Envoy takes a CorsPolicy (routes and virtual hosts); any other filter's would
 * configure a filter this proxy does not run, and is refused (http-filters.ts).
 */
import type { CorsPolicy } from '../model/cors.js';
import type { PerFilterFault } from '../model/fault.js';
import { CORS_FILTER, readCorsPolicyEntry } from './cors-policy-reader.js';
import type { FieldReader } from './field-reader.js';
import { faultFields, HTTP_FAULT_MESSAGE, readHttpFault } from './fault-reader.js';
import { refusedPerFilterConfig } from './http-filters.js';
import { isTypedStruct, typedConfigMessage } from './typed-config-type.js';

const FAULT_FILTER = 'envoy.filters.http.fault';

/** The per-filter configs of one typedPerFilterConfig map. */
export interface PerFilterConfigs {
  fault?: PerFilterFault;
  cors?: CorsPolicy;
}

/** The entries of `r`'s typedPerFilterConfig; `withCors` where a CorsPolicy may stand (not a route configuration's). */
export function readPerFilterConfigs(r: FieldReader, withCors: boolean): PerFilterConfigs {
  const configs: PerFilterConfigs = {};
  const raw = r.raw('typedPerFilterConfig');
  if (raw === undefined) return configs;
  const map = r.obj('typedPerFilterConfig');
  for (const name of Object.keys(raw as object)) {
    const value = map.raw(name) as Record<string, unknown>;
    const message = typedConfigMessage(value);
    // Envoy finds the filter by its config's type; an untyped entry by the name it is under.
    const isFault = message === undefined ? name === FAULT_FILTER : message === HTTP_FAULT_MESSAGE;
    if (isFault) {
      if (configs.fault !== undefined) map.fail(name, `a second fault filter config (after "${configs.fault.filterName}") is not supported: one fault filter runs per connection manager`);
      configs.fault = { filterName: name, fault: readHttpFault(faultFields(map.obj(name), isTypedStruct(value))) };
    } else if (withCors && name === CORS_FILTER) {
      configs.cors = readCorsPolicyEntry(map, name);
    } else {
      map.fail(name, refusedPerFilterConfig(name));
    }
  }
  map.done();
  return configs;
}
