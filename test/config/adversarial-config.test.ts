import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadBootstrapFile, parseBootstrap } from '../../src/config/bootstrap-loader.js';
import { ConfigErrors } from '../../src/config/config-errors.js';
import { refusalsOf } from '../support/config-refusals.js';

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
  return refusalsOf(text, FILE);
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

test('a YAML alias bomb is refused at the line of its first alias, in bounded time', () => {
  const levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(', ')}]`);
  }
  const started = performance.now();
  const errors = errorsOf(`node: { id: x }\n${levels.join('\n')}\n`);
  assert.ok(performance.now() - started < 2_000, 'refused quickly');
  assert.deepEqual(errors, [`${FILE}: (file): line 3: YAML aliases would expand to more than 100 copies of their anchors (Excessive alias count indicates a resource exhaustion attack)`]);
});

test('aliases used a few times still load, as Envoy configs write shared blocks', () => {
  const shared = `
staticResources:
  clusters:
  - name: a
    loadAssignment: &endpoints { endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: 127.0.0.1, portValue: 9000 } } } }] }] }
  - name: b
    loadAssignment: *endpoints
`;
  assert.deepEqual(parseBootstrap(shared, FILE).staticResources.clusters.map((c) => c.loadAssignment?.clusterName), ['a', 'b']);
});

test('a value nested past 100 levels in a field carried as written is refused, naming the listener and the field', () => {
  const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  const accessLog = { accessLog: [{ typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: '/dev/null', logFormat: { jsonFormat: { x: '@@' } } } }] };
  const text = JSON.stringify(listenerConfig({}, accessLog)).replace('"@@"', deep(5_000));
  const [error, ...others] = errorsOf(text);
  assert.deepEqual(others, []);
  assert.match(error!, /^adversarial\.yaml: listener "in": filterChains\[0\]\.filters\[0\]\.typedConfig\.accessLog\[0\]\.typedConfig\.logFormat\.jsonFormat\.x(\[0\])+: nested too deeply to read \(the limit is 100 levels of objects and lists\)$/);

  const router = { httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', x: '@@' } }] };
  assert.match(errorsOf(JSON.stringify(listenerConfig({}, router)).replace('"@@"', deep(200)))[0]!, /listener "in": filterChains\[0\]\.filters\[0\]\.typedConfig\.httpFilters\[0\]\.typedConfig\.x(\[0\])+: nested too deeply/);
  // Within the limit it loads.
  assert.equal(parseBootstrap(JSON.stringify(listenerConfig({}, router)).replace('"@@"', deep(60)), FILE).staticResources.listeners.length, 1);
});

test('YAML nested too deeply for its parser says so at its line, once', () => {
  assert.deepEqual(errorsOf(`node:\n  id: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`), [`${FILE}: (file): line 2: nested too deeply to read (the limit is 100 levels of objects and lists)`]);
});

test('a file that is not UTF-8 is refused at the line of the first bad byte, not loaded with replacement characters', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'bulwark-adversarial-')), 'latin1.yaml');
  const text = YAML_WITH_HEADER.replace('VALUE', 'caf\u00e9');
  writeFileSync(file, Buffer.from(text, 'latin1'));
  assert.throws(() => loadBootstrapFile(file), { name: 'ConfigErrors', message: `${file}: (file): line 12: is not UTF-8 text (an invalid byte at column 71)` });
  // The same text in UTF-8 loads, the value as written.
  writeFileSync(file, text);
  const hcm = loadBootstrapFile(file).staticResources.listeners[0]!.filterChains[0]!.filters[0]!.typedConfig;
  assert.equal('routeConfig' in hcm && hcm.routeConfig!.virtualHosts[0]!.routes[0]!.requestHeadersToAdd[0]!.header.value, 'caf\u00e9');
});

const YAML_WITH_HEADER = `staticResources:
  listeners:
  - name: in
    address: { socketAddress: { address: 127.0.0.1, portValue: 8080 } }
    filterChains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typedConfig:
          routeConfig:
            virtualHosts:
            - { name: vh, domains: ["*"], routes: [{ match: { prefix: / }, route: { cluster: c },
                requestHeadersToAdd: [{ header: { key: x-a, value: VALUE } }] }] }
  clusters:
  - { name: c, loadAssignment: { endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: 127.0.0.1, portValue: 9000 } } } }] }] } }
`;

test('two listeners on one IPv6 address spelled two ways are refused as the config error they are', () => {
  const config = listenerConfig();
  const listeners = (config.staticResources as { listeners: Array<Record<string, unknown>> }).listeners;
  const on = (name: string, address: string) => ({ ...structuredClone(listeners[0]!), name, address: { socketAddress: { address, portValue: 8443 } } });
  listeners.push(on('v6', '::1'), on('v6-long', '0:0:0:0:0:0:0:1'), on('zoned', 'fe80::1%lo'), on('zoned-long', 'fe80:0::1%lo'));
  assert.deepEqual(errorsOf(JSON.stringify(config)), [
    `${FILE}: listener "v6-long": address: ::1:8443 is already used by listener "v6"`,
    `${FILE}: listener "zoned-long": address: fe80::1%lo:8443 is already used by listener "zoned"`,
  ]);
});

test('a YAML alias inside its own anchor is refused, naming where the value contains itself', () => {
  const text = YAML_WITH_HEADER.replace('VALUE', 'v').replace('          routeConfig:', '          httpFilters: [{ name: envoy.filters.http.router, typedConfig: &router { x: *router } }]\n          routeConfig:');
  assert.deepEqual(errorsOf(text), [`${FILE}: listener "in": filterChains[0].filters[0].typedConfig.httpFilters[0].typedConfig.x: contains itself (a YAML alias inside its own anchor)`]);
});

test('an unknown defaultRegexEngine is refused naming the field and the engines there are', () => {
  assert.deepEqual(errorsOf(JSON.stringify({ ...listenerConfig(), defaultRegexEngine: 'hyperscann' })), [`${FILE}: bootstrap: defaultRegexEngine: unknown regex engine "hyperscann" (known: re2)`]);
});

test('a file of two YAML documents is refused where the second starts, in the user\'s terms', () => {
  assert.deepEqual(errorsOf('node: { id: a }\n---\nnode: { id: b }\n'), [`${FILE}: (file): line 2: a second YAML document starts here: a bootstrap is one document (remove the "---" and what follows, or merge them)`]);
});

test('a field with no name is refused as such, not as its object being unknown', () => {
  assert.deepEqual(errorsOf('node: { id: a, ~: b }\n'), [`${FILE}: bootstrap: node: has a field with no name (an empty or null key)`]);
  const cluster = '{"name": "c", "loadAssignment": {"endpoints": [], "": 1}}';
  assert.deepEqual(errorsOf(`{"staticResources": {"clusters": [${cluster}]}}`), [`${FILE}: cluster "c": loadAssignment: has a field with no name (an empty or null key)`]);
});

/** The message the loader refuses `text` with (what a log line or lastReloadError carries). */
function messageOf(text: string): string {
  try {
    parseBootstrap(text, FILE);
  } catch (err) {
    assert.ok(err instanceof ConfigErrors, `not a ConfigErrors: ${String(err)}`);
    return err.message;
  }
  assert.fail('the config was accepted');
}

test('a file with thousands of broken resources lists the first 50 problems and counts the rest', () => {
  const clusters = Array.from({ length: 300 }, (_, i) => ({ name: `c${i}`, connectTimeout: 'soon' }));
  const lines = messageOf(JSON.stringify({ staticResources: { clusters } })).split('\n');
  assert.equal(lines.length, 51);
  assert.match(lines[0]!, /^adversarial\.yaml: cluster "c0": connect_?[tT]imeout: /);
  assert.equal(lines[50], 'adversarial.yaml: and 250 more problems');
});

test('a huge name or value is quoted by its start, not whole, in every message about it', () => {
  const name = 'n'.repeat(1_000_000);
  const lines = [
    ...messageOf(JSON.stringify({ staticResources: { clusters: [{ name, connectTimeout: 'soon' }] } })).split('\n'),
    ...messageOf(JSON.stringify({ staticResources: { clusters: [{ name: 'c', connectTimeout: 's'.repeat(100_000) }] } })).split('\n'),
  ];
  assert.equal(lines.length, 2);
  for (const line of lines) assert.ok(line.length < 1000, `a ${line.length}-character message`);
  assert.match(lines[0]!, /^adversarial\.yaml: cluster "n+… \(\d+ more characters\): connectTimeout: /);
});
