import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBootstrap } from '../../src/config/bootstrap-loader.js';
import { ConfigErrors } from '../../src/config/config-errors.js';

const FILE = 'adversarial.yaml';

/** A listener routing every path to cluster "c", `route` merged into its route action, `hcm` into its connection manager. */
function listenerConfig(route: Record<string, unknown> = {}, hcm: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    staticResources: {
      listeners: [
        {
          name: 'in',
          address: { socketAddress: { address: '127.0.0.1', portValue: 8080 } },
          filterChains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typedConfig: { routeConfig: { virtualHosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c', ...route } }] }] }, ...hcm },
                },
              ],
            },
          ],
        },
      ],
      clusters: [{ name: 'c', loadAssignment: { endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: 9000 } } } }] }] } }],
    },
  };
}

/** The loader's messages for `text`; fails unless it refuses the text with ConfigErrors. */
function errorsOf(text: string): string[] {
  try {
    parseBootstrap(text, FILE);
  } catch (err) {
    assert.ok(err instanceof ConfigErrors, `not a ConfigErrors: ${String(err)}`);
    return err.errors.map((e) => e.message);
  }
  assert.fail('the config was accepted');
}

const ROUTE_AT = 'listener "in": filterChains[0].filters[0].typedConfig.routeConfig.virtualHosts[0].routes[0].route';

test('retriableStatusCodes that is not a list is refused naming the field, not read as one', () => {
  for (const codes of ['503', 503, { code: 503 }]) {
    const errors = errorsOf(JSON.stringify(listenerConfig({ retryPolicy: { retryOn: 'retriable-status-codes', retriableStatusCodes: codes } })));
    assert.deepEqual(errors, [`${FILE}: ${ROUTE_AT}.retryPolicy.retriableStatusCodes: expected a list of status codes`]);
  }
  const errors = errorsOf(JSON.stringify(listenerConfig({ retryPolicy: { retryOn: 'retriable-status-codes', retriableStatusCodes: [503.5] } })));
  assert.deepEqual(errors, [`${FILE}: ${ROUTE_AT}.retryPolicy.retriableStatusCodes: invalid status code 503.5`]);
});

test('a tracing percentage that is not a number from 0 to 100 is refused, saying what it was', () => {
  const at = 'listener "in": filterChains[0].filters[0].typedConfig.tracing.randomSampling.value';
  assert.deepEqual(errorsOf(JSON.stringify(listenerConfig({}, { tracing: { randomSampling: { value: { x: 1 } } } }))), [`${FILE}: ${at}: expected a percentage from 0 to 100, got an object`]);
  assert.deepEqual(errorsOf(`${JSON.stringify(listenerConfig({}, { tracing: { randomSampling: { value: 'NAN' } } })).replace('"NAN"', '.nan')}`), [`${FILE}: ${at}: expected a percentage from 0 to 100, got NaN`]);
});
