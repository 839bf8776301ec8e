import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bulwark, startEcho, type RunningEcho } from './load-support.js';

let echo: RunningEcho;
const dir = mkdtempSync(join(tmpdir(), 'bulwark-report-'));

before(async () => {
  echo = await startEcho();
});

after(async () => {
  await echo?.stop();
});

/** Renders a page in headless Chromium (Debian's package, installed by the bootstrap) and returns the DOM after scripts ran. */
function renderedDom(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=5000', '--dump-dom', `file://${file}`], { timeout: 90_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && !stdout) reject(new Error(`chromium failed (is it installed? scripts/bootstrap.sh installs it): ${err.message} ${stderr.slice(0, 300)}`));
      else resolve(stdout);
    });
  });
}

test('the HTML report compares runs side by side, and its charts draw in a real browser', async () => {
  const runs: string[] = [];
  for (const [label, qps] of [['baseline', '200'], ['accelerated', '0']] as const) {
    const file = join(dir, `${label}.json`);
    const r = await bulwark(['load', '-quiet', '-qps', qps, '-c', '2', '-n', '200', '-labels', label, '-json', file, `http://127.0.0.1:${echo.port}/`]);
    assert.equal(r.code, 0, r.stderr);
    runs.push(file);
  }
  const out = join(dir, 'report.html');
  const r = await bulwark(['report', '-o', out, '--title', 'baseline vs accelerated', ...runs]);
  assert.equal(r.code, 0, r.stderr);
  const html = readFileSync(out, 'utf8');
  assert.ok(!/\b(src|href)=["']https?:/.test(html), 'the page fetches nothing');
  const dom = await renderedDom(out);
  assert.match(dom, /data-rendered="true"/, 'the chart script ran to the end');
  const qpsSvg = /<svg id="qps"[\s\S]*?<\/svg>/.exec(dom)![0];
  assert.equal((qpsSvg.match(/<rect /g) ?? []).length, 2, 'one throughput bar per run');
  assert.ok(!/height="(0|NaN)"/.test(qpsSvg), 'bars have a height');
  const pctSvg = /<svg id="percentiles"[\s\S]*?<\/svg>/.exec(dom)![0];
  assert.equal((pctSvg.match(/<rect /g) ?? []).length, 10, 'five percentiles for each of two runs');
  const histSvg = /<svg id="histogram"[\s\S]*?<\/svg>/.exec(dom)![0];
  assert.equal((histSvg.match(/<polyline /g) ?? []).length, 2, 'one histogram outline per run');
  assert.match(dom, /baseline/);
  assert.match(dom, /accelerated/);
});

test('gRPC runs (health and ping) render beside an HTTP run, with their type and target; a Fortio run without calls is drawn too', async () => {
  const runs: string[] = [];
  const loads: Array<[string, string[]]> = [
    ['grpc-health', ['-grpc', `127.0.0.1:${echo.grpcPort}`]],
    ['grpc-ping', ['-grpc', '-ping', '-payload', 'hi', `127.0.0.1:${echo.grpcPort}`]],
    ['http', [`http://127.0.0.1:${echo.port}/`]],
  ];
  for (const [label, args] of loads) {
    const file = join(dir, `${label}.json`);
    const r = await bulwark(['load', '-quiet', '-qps', '0', '-c', '2', '-n', '50', '-labels', label, '-json', file, ...args]);
    assert.equal(r.code, 0, r.stderr);
    runs.push(file);
  }
  // As Go writes a run that made no call: Data null, Percentiles left out.
  const empty = join(dir, 'fortio-empty.json');
  writeFileSync(empty, JSON.stringify({ RunType: 'GRPC Ping', Labels: 'empty', ActualQPS: 0, RequestedQPS: 'max', RetCodes: {}, Destination: 'h:8079', DurationHistogram: { Count: 0, Min: 0, Max: 0, Sum: 0, Avg: 0, StdDev: 0, Data: null } }));
  const out = join(dir, 'grpc-report.html');
  const r = await bulwark(['report', '-o', out, ...runs, empty]);
  assert.equal(r.code, 0, r.stderr);
  const dom = await renderedDom(out);
  assert.match(dom, /data-rendered="true"/, 'the chart script ran to the end');
  const qpsSvg = /<svg id="qps"[\s\S]*?<\/svg>/.exec(dom)![0];
  assert.equal((qpsSvg.match(/<rect /g) ?? []).length, 4, 'a throughput bar per run');
  const pctSvg = /<svg id="percentiles"[\s\S]*?<\/svg>/.exec(dom)![0];
  assert.equal((pctSvg.match(/<rect /g) ?? []).length, 15, 'five percentiles for each run with calls');
  assert.ok(!/(height|y)="NaN"/.test(dom), 'no NaN anywhere');
  const histSvg = /<svg id="histogram"[\s\S]*?<\/svg>/.exec(dom)![0];
  assert.equal((histSvg.match(/<polyline /g) ?? []).length, 3);
  const rows = /<tbody>([\s\S]*?)<\/tbody>/.exec(dom)![1]!;
  assert.match(rows, /<td>grpc-health<\/td><td>GRPC Health for ''<\/td><td>127\.0\.0\.1:\d+<\/td>/);
  assert.match(rows, /<td>grpc-ping<\/td><td>GRPC Ping PayloadLength=2<\/td>/);
  assert.match(rows, /SERVING: 50/);
  assert.match(rows, /<td>http<\/td><td>HTTP<\/td><td>http:\/\/127\.0\.0\.1:\d+\/<\/td>/);
  assert.match(rows, /<td>empty<\/td><td>GRPC Ping<\/td><td>h:8079<\/td>/);
});

test('a file that is not a load result is refused with its name and the missing field', async () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ hello: 'world' }));
  const r = await bulwark(['report', '-o', join(dir, 'x.html'), bad]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.json: not a load result \(field ActualQPS/);
});
