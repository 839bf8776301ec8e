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
  echo = await startEcho(['--grpc-port', 'off']);
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

test('a file that is not a load result is refused with its name and the missing field', async () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ hello: 'world' }));
  const r = await bulwark(['report', '-o', join(dir, 'x.html'), bad]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.json: not a load result \(field ActualQPS/);
});
