/**
 * Which fault a route runs, compiled onto it as Envoy resolves per-filter config: the route's own, else
 * its virtual host's, else its route configuration's, else the filter's; only where the connection
 * manager runs that fault filter, and never on a route that cannot reach the fault's upstream cluster.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FieldReader } from '../../src/config/field-reader.js';
import { readRouteConfiguration } from '../../src/config/route-reader.js';
import type { HttpFault } from '../../src/model/fault.js';
import type { RequestHead } from '../../src/proxy/http/request-head.js';
import { createRegexEngine } from '../../src/proxy/routing/regex-engine-registry.js';
import type { FaultFilterSetting } from '../../src/proxy/routing/route-fault.js';
import { compileRouteTable, type RouteTable } from '../../src/proxy/routing/route-table.js';

const HTTP_FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const abort = (httpStatus: number, extra: object = {}) => ({ 'envoy.filters.http.fault': { '@type': HTTP_FAULT, abort: { httpStatus, percentage: { numerator: 100 } }, ...extra } });
const req = (path: string): RequestHead => ({ method: 'GET', path, authority: 'svc', scheme: 'http', headers: [], remoteAddress: '10.0.0.1' });
const NO_FAULT: HttpFault = { headers: [], downstreamNodes: [] };
const FILTER: FaultFilterSetting = { name: 'envoy.filters.http.fault', fault: { ...NO_FAULT, abort: { httpStatus: 418, headerAbort: false, percentage: { numerator: 100, denominator: 100 } } } };

function table(filter: FaultFilterSetting | undefined): RouteTable {
  const rc = {
    name: 'rc',
    typedPerFilterConfig: abort(500),
    virtualHosts: [
      {
        name: 'vh', domains: ['*'], typedPerFilterConfig: abort(502),
        routes: [
          { match: { prefix: '/own' }, route: { cluster: 'a' }, typedPerFilterConfig: abort(503) },
          { match: { prefix: '/none' }, route: { cluster: 'a' }, typedPerFilterConfig: { 'envoy.filters.http.fault': { '@type': HTTP_FAULT } } },
          { match: { prefix: '/other-cluster' }, route: { cluster: 'a' }, typedPerFilterConfig: abort(504, { upstreamCluster: 'b' }) },
          { match: { prefix: '/weighted' }, route: { weightedClusters: { clusters: [{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }] } }, typedPerFilterConfig: abort(504, { upstreamCluster: 'b' }) },
          { match: { prefix: '/' }, route: { cluster: 'a' } },
        ],
      },
    ],
  };
  return compileRouteTable(readRouteConfiguration(FieldReader.of(rc, 'test.yaml', 'rc', '')), createRegexEngine('re2'), filter);
}

/** The HTTP status the route's compiled fault aborts with, or undefined when it runs none. */
function abortOf(t: RouteTable, path: string): number | undefined {
  return t.match(req(path))!.fault?.abortStatus(req(path))?.httpStatus;
}

test('the most specific per-filter config wins: route, then virtual host; an empty one runs no fault', () => {
  const t = table(FILTER);
  assert.equal(abortOf(t, '/own'), 503);
  assert.equal(abortOf(t, '/inherits'), 502);
  assert.equal(t.match(req('/none'))!.fault, undefined);
  // The filter's own config is what a request no route matches meets.
  assert.equal(t.fault?.abortStatus(req('/x'))?.httpStatus, 418);
});

test('a fault for another upstream cluster is compiled away from a single-cluster route, kept on a weighted one', () => {
  const t = table(FILTER);
  assert.equal(t.match(req('/other-cluster'))!.fault, undefined);
  assert.equal(t.match(req('/weighted'))!.fault?.upstreamCluster, 'b');
});

test('per-route configs under another name, or without a fault filter in the connection manager, run nothing', () => {
  assert.equal(table(undefined).match(req('/own'))!.fault, undefined);
  const renamed = table({ ...FILTER, name: 'chaos' });
  assert.equal(abortOf(renamed, '/own'), 418);
  assert.equal(abortOf(renamed, '/none'), 418);
});
