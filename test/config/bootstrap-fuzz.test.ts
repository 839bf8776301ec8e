/**
 * Seeded structural mutations of valid bootstraps (Envoy's and Istio's shapes from test/fixtures, one
 * written by the test builders) through the loader: fields deleted, values of other types, numbers out of
 * range, bad durations and enum values, duplicated resources, deep nesting, very long strings, keys under
 * both spellings, as JSON and as YAML. Every case ends in a model or in ConfigErrors whose every entry names
 * the file, the resource and a field, never another exception, a TypeError's text or a long stall. Whole-file
 * cases (empty, not YAML, binary, non-UTF-8, a directory, a missing file, an alias bomb) and a sample run by
 * a real `bulwark proxy` process follow. Bounded by round count; FUZZ_ROUNDS and FUZZ_SEED reproduce or
 * lengthen a run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { loadBootstrapFile, parseBootstrap } from '../../src/config/bootstrap-loader.js';
import { ConfigError } from '../../src/config/config-error.js';
import { ConfigErrors } from '../../src/config/config-errors.js';
import type { Bootstrap } from '../../src/model/bootstrap.js';
import { seededRandom } from '../support/byte-mutation.js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { ConfigMutator, serialize, type Mutation } from '../support/config-mutation.js';
import { runProxyToExit } from '../support/proxy-process.js';

const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 500);
const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const FILE = 'fuzzed.yaml';
/** Far above the slowest case seen (a 1 MB string through the YAML parser, ~150 ms): a stall, not noise. */
const SLOW_MS = 3_000;

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Valid bootstraps to mutate, as plain values. */
function seeds(): unknown[] {
  const files = [...readdirSync(join(FIXTURES, 'envoy')).map((f) => join(FIXTURES, 'envoy', f)), join(FIXTURES, 'istio-sidecar-outbound.yaml')];
  const built = bootstrap(
    [httpListener('web', 8080, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app', timeout: '2s', retryPolicy: { retryOn: '5xx', numRetries: 2, retriableStatusCodes: [503] } } }]), { codecType: 'AUTO' })],
    [staticCluster('app', [9000], { healthChecks: [{ timeout: '1s', interval: '5s', httpHealthCheck: { path: '/healthz' } }], outlierDetection: {}, circuitBreakers: { thresholds: [{ maxConnections: 10 }] } })],
  );
  const docs = [...files.map((f) => YAML.parse(readFileSync(f, 'utf8')) as unknown), JSON.parse(built) as unknown];
  for (const d of docs) parseBootstrap(JSON.stringify(d), FILE);
  return docs;
}

/** What the loader did with `text`: a model, or why it is not an acceptable refusal. */
function outcome(text: string): { model: Bootstrap } | { errors: ConfigError[] } {
  try {
    return { model: parseBootstrap(text, FILE) };
  } catch (err) {
    assert.ok(err instanceof ConfigErrors, `threw ${err instanceof Error ? err.stack : String(err)}`);
    return { errors: err.errors };
  }
}

const RESOURCE = /^(\(file\)|bootstrap|staticResources|(listener|cluster|secret|routeConfiguration) "[^]*")$/;
const INTERNAL = /TypeError|is not a function|Cannot read prop|Cannot convert|undefined|\[object |Maximum call stack/;

/** Every entry names this file, a resource and a field, and says why in the loader's words, not the runtime's. */
function assertWellFormed(errors: ConfigError[], what: string): void {
  assert.ok(errors.length > 0, `no errors for ${what}`);
  for (const e of errors) {
    assert.ok(e instanceof ConfigError, `${what}: ${String(e)}`);
    assert.equal(e.file, FILE, `${what}: ${e.message}`);
    assert.match(e.resource, RESOURCE, `${what}: ${e.message.slice(0, 300)}`);
    assert.ok(e.field.length > 0 && e.reason.length > 0, `${what}: ${e.message.slice(0, 300)}`);
    assert.doesNotMatch(e.reason, INTERNAL, `${what}: ${e.message.slice(0, 300)}`);
  }
}

/** Fields the model carries as the file wrote them (a filter's config, an access log's JSON layout): not the loader's numbers. */
const CARRIED_AS_WRITTEN = new Set(['httpFilters', 'json', 'privateKeyProvider']);

/** A loaded model goes to workers as JSON (the IPC) without overflowing, and the numbers the loader read are finite. */
function assertUsable(model: Bootstrap, what: string): void {
  assert.ok(JSON.stringify(model).length > 0);
  const pending: Array<[unknown, string]> = [[model, '']];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, path] = next;
    if (typeof value === 'number') assert.ok(Number.isFinite(value), `${what}: ${path} is ${value}`);
    if (typeof value !== 'object' || value === null) continue;
    for (const [k, v] of Object.entries(value)) if (!CARRIED_AS_WRITTEN.has(k)) pending.push([v, `${path}.${k}`]);
  }
}

function mutations(count: number): Array<Mutation & { text: string }> {
  const docs = seeds();
  const rand = seededRandom(SEED);
  const mutator = new ConfigMutator(rand);
  const out: Array<Mutation & { text: string }> = [];
  for (let i = 0; i < count; i++) {
    const m = mutator.mutate(docs[i % docs.length]);
    out.push({ ...m, text: serialize(m.document, rand() < 0.5 ? 'json' : 'yaml', (v) => YAML.stringify(v)) });
  }
  return out;
}

test(`${ROUNDS} structural mutations of valid bootstraps: each loads or is refused naming file, resource and field`, { timeout: 120_000 }, () => {
  let loaded = 0;
  let refused = 0;
  for (const [i, m] of mutations(ROUNDS).entries()) {
    const what = `case ${i} (FUZZ_SEED=${SEED}): ${m.what.slice(0, 400)}`;
    const started = performance.now();
    const result = outcome(m.text);
    assert.ok(performance.now() - started < SLOW_MS, `${what}: took ${Math.round(performance.now() - started)} ms`);
    if ('model' in result) {
      assertUsable(result.model, what);
      loaded++;
    } else {
      assertWellFormed(result.errors, what);
      refused++;
    }
  }
  // Both outcomes are exercised: mutations that keep a config valid, and ones that break it.
  assert.ok(loaded > ROUNDS / 20 && refused > ROUNDS / 2, `loaded ${loaded}, refused ${refused}`);
});

/** A file written in a fresh directory; its path. */
function writeTemp(name: string, content: string | Buffer): string {
  const path = join(mkdtempSync(join(tmpdir(), 'bulwark-cfgfuzz-')), name);
  writeFileSync(path, content);
  return path;
}

test('whole files that are no bootstrap are refused with the file named, never thrown past the loader', () => {
  const aliasBomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefg'[i]}`).join(', ')}]`)].join('\n');
  const cases: Array<[string, string | Buffer, RegExp]> = [
    ['empty', '', /: bootstrap: \(root\): expected an object, got nothing$/],
    ['only a comment', '# nothing\n', /: bootstrap: \(root\): expected an object, got nothing$/],
    ['a scalar', 'hello world', /: bootstrap: \(root\): expected an object, got "hello world"$/],
    ['a list', '- a\n- b\n', /: bootstrap: \(root\): expected an object, got a list$/],
    ['not YAML', 'a: [b\nc: }\n', /: \(file\): line \d+: /],
    ['broken JSON', '{"staticResources": {"listeners": [}', /: \(file\): line 1: not valid JSON: /],
    ['binary bytes', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0xff, 0xfe, 0x0a, 0x3a, 0x5b]), /: \(file\): line 1: is not UTF-8 text \(an invalid byte at column 10\)$/],
    ['Latin-1 text', Buffer.from('node:\n  id: caf\u00e9\n', 'latin1'), /: \(file\): line 2: is not UTF-8 text \(an invalid byte at column 10\)$/],
    ['NUL bytes', Buffer.alloc(64), /: bootstrap: \(root\): expected an object, got "/],
    ['an alias bomb', aliasBomb, /: \(file\): line 2: YAML aliases would expand to more than 100 copies/],
  ];
  for (const [what, content, expected] of cases) {
    const file = writeTemp('proxy.yaml', content);
    assert.throws(() => loadBootstrapFile(file), (err: unknown) => {
      assert.ok(err instanceof ConfigErrors, `${what}: threw ${String(err)}`);
      for (const e of err.errors) assert.ok(e.message.startsWith(`${file}: `), `${what}: ${e.message}`);
      assert.match(err.errors[0]!.message, expected, what);
      return true;
    });
  }
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cfgfuzz-'));
  assert.throws(() => loadBootstrapFile(dir), { name: 'ConfigErrors', message: `${dir}: (file): read: EISDIR: illegal operation on a directory, read` });
  assert.throws(() => loadBootstrapFile(join(dir, 'missing.yaml')), { name: 'ConfigErrors', message: new RegExp(`^${dir}/missing\\.yaml: \\(file\\): read: ENOENT`) });
});

test('a real proxy refuses a sample of the refused mutations at start: exit 1, the errors as the loader gave them, no internal error', { timeout: 180_000 }, async () => {
  const refused = mutations(120).filter((m) => 'errors' in outcome(m.text));
  const sample = [0, 1, 2, 3].map((k) => refused[Math.floor((k * refused.length) / 4)]!);
  const aliasBomb = 'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n';
  for (const text of [...sample.map((m) => m.text), aliasBomb]) {
    const file = writeTemp('proxy.yaml', text);
    const expected = (() => {
      try {
        loadBootstrapFile(file);
      } catch (err) {
        return (err as ConfigErrors).message;
      }
      assert.fail('accepted');
    })();
    const { code, stderr } = await runProxyToExit(file, 1, 30_000);
    assert.equal(code, 1, stderr);
    assert.equal(stderr, `bulwark proxy: invalid config:\n${expected}\n`);
  }
});

test('an unknown defaultRegexEngine is refused at start like any field, not left to crash each worker', { timeout: 60_000 }, async () => {
  const config = JSON.parse(bootstrap([], [staticCluster('c', [9000])])) as Record<string, unknown>;
  const file = writeTemp('proxy.yaml', JSON.stringify({ ...config, defaultRegexEngine: 'bogus' }));
  for (const concurrency of [1, 2]) {
    const { code, stderr } = await runProxyToExit(file, concurrency, 30_000);
    assert.equal(code, 1, stderr);
    assert.equal(stderr, `bulwark proxy: invalid config:\n${file}: bootstrap: defaultRegexEngine: unknown regex engine "bogus" (known: re2)\n`);
  }
});
