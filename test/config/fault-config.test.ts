/**
 * The fault filter's config (Envoy's HTTPFault) at the filter level and per route, as Istio writes it
 * for a VirtualService's `fault`; what the proxy cannot honour is refused naming the field.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBootstrap } from '../../src/config/bootstrap-loader.js';
import { envoyRouteConfiguration } from '../../src/proxy/admin/envoy-resources.js';
import { refusalsOf } from '../support/config-refusals.js';

const FILE = 'proxy.yaml';
const HTTP_FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

/** A bootstrap with one listener; `filterFault` is the fault filter's typed config, `perRoute` the route's typedPerFilterConfig. */
function config(filterFault: object | undefined, perRoute?: object, filters?: object[]): string {
  const route: Record<string, unknown> = { match: { prefix: '/' }, route: { cluster: 'backend' } };
  if (perRoute !== undefined) route.typedPerFilterConfig = perRoute;
  const httpFilters = filters ?? [{ name: 'envoy.filters.http.fault', typedConfig: { '@type': HTTP_FAULT, ...filterFault } }, { name: 'envoy.filters.http.router' }];
  return JSON.stringify({
    staticResources: {
      listeners: [{
        name: 'l', address: { socketAddress: { address: '127.0.0.1', portValue: 8080 } },
        filterChains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: { statPrefix: 'l', httpFilters, routeConfig: { virtualHosts: [{ name: 'vh', domains: ['*'], routes: [route] }] } } }] }],
      }],
      clusters: [{ name: 'backend', loadAssignment: { endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: 9000 } } } }] }] } }],
    },
  });
}

function errorsOf(text: string): string[] {
  return refusalsOf(text, FILE);
}

function hcmOf(text: string) {
  const l = parseBootstrap(text, FILE).staticResources.listeners[0]!;
  const f = l.filterChains[0]!.filters[0]!;
  assert.equal(f.name, 'envoy.filters.network.http_connection_manager');
  return f.typedConfig;
}

test("Istio's per-route fault (delay and abort over a MILLION denominator) loads under the filter's name", () => {
  const istio = { 'envoy.filters.http.fault': { '@type': HTTP_FAULT, delay: { fixed_delay: '2s', percentage: { numerator: 500000, denominator: 'MILLION' } }, abort: { http_status: 503, percentage: { numerator: 1000000, denominator: 'MILLION' } } } };
  const hcm = hcmOf(config(undefined, istio, [{ name: 'envoy.filters.http.fault', typedConfig: { '@type': HTTP_FAULT } }, { name: 'envoy.filters.http.router' }]));
  const route = hcm.routeConfig!.virtualHosts[0]!.routes[0]!;
  assert.deepEqual(route.fault, {
    filterName: 'envoy.filters.http.fault',
    fault: {
      delay: { fixedDelay: 2000, headerDelay: false, percentage: { numerator: 500000, denominator: 1_000_000 } },
      abort: { httpStatus: 503, grpcStatus: undefined, headerAbort: false, percentage: { numerator: 1000000, denominator: 1_000_000 } },
      upstreamCluster: undefined, headers: [], downstreamNodes: [], maxActiveFaults: undefined,
    },
  });
  assert.deepEqual(hcm.httpFilters[0]!.fault, { delay: undefined, abort: undefined, upstreamCluster: undefined, headers: [], downstreamNodes: [], maxActiveFaults: undefined });
});

test('a filter-level fault with header control, headers, downstream nodes and max_active_faults loads; a percentage left out is 0 %', () => {
  const hcm = hcmOf(config({ abort: { headerAbort: {} }, delay: { headerDelay: {}, percentage: { numerator: 100 } }, headers: [{ name: 'x-chaos', exactMatch: 'on' }], downstreamNodes: ['a'], maxActiveFaults: 3 }));
  const fault = hcm.httpFilters[0]!.fault!;
  assert.deepEqual(fault.abort, { httpStatus: undefined, grpcStatus: undefined, headerAbort: true, percentage: { numerator: 0, denominator: 100 } });
  assert.deepEqual(fault.delay, { fixedDelay: undefined, headerDelay: true, percentage: { numerator: 100, denominator: 100 } });
  assert.equal(fault.headers[0]!.name, 'x-chaos');
  assert.deepEqual(fault.downstreamNodes, ['a']);
  assert.equal(fault.maxActiveFaults, 3);
});

test('what the fault filter cannot honour is refused naming the field', () => {
  const refused = (filterFault: object, pattern: RegExp) => {
    const errs = errorsOf(config(filterFault));
    assert.equal(errs.length, 1, errs.join('\n'));
    assert.match(errs[0]!, pattern);
  };
  refused({ responseRateLimit: { fixedLimit: { limitKbps: 10 } } }, /httpFilters\[0\]\.typedConfig\.responseRateLimit: the response rate limit fault is not supported/);
  refused({ abort_percent_runtime: 'x' }, /typedConfig\.abort_percent_runtime: runtime keys are not supported/);
  refused({ filterMetadata: {} }, /typedConfig\.filterMetadata: is not supported/);
  refused({ abort: { httpStatus: 503, grpcStatus: 14 } }, /typedConfig\.abort: exactly one of httpStatus, grpcStatus, headerAbort is required/);
  refused({ abort: { httpStatus: 600 } }, /typedConfig\.abort\.httpStatus: must be between 200 and 599/);
  refused({ abort: { grpcStatus: 17 } }, /typedConfig\.abort\.grpcStatus: must be between 0 and 16/);
  refused({ delay: { percentage: { numerator: 1 } } }, /typedConfig\.delay: exactly one of fixedDelay, headerDelay is required/);
  refused({ delay: { fixedDelay: '0s' } }, /typedConfig\.delay\.fixedDelay: must be longer than 0s/);
  refused({ delay: { fixedDelay: '1s', percentage: { numerator: 1, denominator: 'THOUSAND' } } }, /percentage\.denominator: must be one of HUNDRED, TEN_THOUSAND, MILLION/);
  refused({ abortt: {} }, /typedConfig\.abortt: unknown field \(did you mean "abort"\?\)/);
});

test('per-route: a fault entry under any name is read by its type; another filter, or a second fault entry, is refused by name', () => {
  const lua = errorsOf(config(undefined, { 'envoy.filters.http.lua': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute', disabled: true } }));
  assert.match(lua[0]!, /typedPerFilterConfig\.envoy\.filters\.http\.lua: per-route config for envoy\.filters\.http\.lua is not supported/);
  const two = errorsOf(config(undefined, { 'envoy.filters.http.fault': { abort: { httpStatus: 503 } }, chaos: { '@type': HTTP_FAULT } }));
  assert.match(two[0]!, /typedPerFilterConfig\.chaos: a second fault filter config/);
  const bad = errorsOf(config(undefined, { 'envoy.filters.http.fault': { '@type': HTTP_FAULT, responseRateLimit: {} } }));
  assert.match(bad[0]!, /typedPerFilterConfig\.envoy\.filters\.http\.fault\.responseRateLimit: the response rate limit fault is not supported/);
});

test('one fault filter per connection manager, before the router', () => {
  const fault = { name: 'envoy.filters.http.fault', typedConfig: { '@type': HTTP_FAULT } };
  const router = { name: 'envoy.filters.http.router' };
  assert.match(errorsOf(config(undefined, undefined, [fault, { ...fault, name: 'second' }, router]))[0]!, /httpFilters: a second fault filter \("second"\) is not supported/);
  assert.match(errorsOf(config(undefined, undefined, [router, fault]))[0]!, /httpFilters: the fault filter "envoy\.filters\.http\.fault" comes after the router/);
});

test("/config_dump prints a route's fault back as Envoy's typed_per_filter_config, which loads again to the same fault", () => {
  const perRoute = { chaos: { '@type': HTTP_FAULT, delay: { fixedDelay: '1.5s', percentage: { numerator: 25 } }, abort: { grpcStatus: 14, percentage: { numerator: 5, denominator: 'MILLION' } }, upstreamCluster: 'backend', headers: [{ name: 'x-chaos', stringMatch: { exact: 'on' } }], maxActiveFaults: 2 } };
  const filters = [{ name: 'chaos', typedConfig: { '@type': HTTP_FAULT } }, { name: 'envoy.filters.http.router' }];
  const rc = hcmOf(config(undefined, perRoute, filters)).routeConfig!;
  const printed = envoyRouteConfiguration(rc) as { virtual_hosts: Array<{ routes: Array<{ typed_per_filter_config: Record<string, Record<string, unknown>> }> }> };
  const dumped = printed.virtual_hosts[0]!.routes[0]!.typed_per_filter_config;
  assert.deepEqual(Object.keys(dumped), ['chaos']);
  assert.deepEqual(dumped.chaos!.delay, { fixed_delay: '1.500s', percentage: { numerator: 25 } });
  assert.deepEqual(dumped.chaos!.abort, { grpc_status: 14, percentage: { numerator: 5, denominator: 'MILLION' } });
  const again = hcmOf(config(undefined, dumped, filters)).routeConfig!.virtualHosts[0]!.routes[0]!.fault;
  assert.deepEqual(again, rc.virtualHosts[0]!.routes[0]!.fault);
});

test('an inline route configuration whose fault entries no fault filter of its connection manager would run is refused', () => {
  const perRoute = { 'envoy.filters.http.fault': { '@type': HTTP_FAULT, abort: { httpStatus: 503, percentage: { numerator: 100 } } } };
  const none = errorsOf(config(undefined, perRoute, [{ name: 'envoy.filters.http.router' }]));
  assert.match(none[0]!, /routeConfig: typedPerFilterConfig configures the fault filter "envoy\.filters\.http\.fault", but httpFilters has no fault filter/);
  const renamed = errorsOf(config(undefined, perRoute, [{ name: 'chaos', typedConfig: { '@type': HTTP_FAULT } }, { name: 'envoy.filters.http.router' }]));
  assert.match(renamed[0]!, /but the fault filter in httpFilters is named "chaos"/);
});
