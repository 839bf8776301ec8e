import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { fortioRunId } from '../../src/load/fortio-run-id.js';
import { parseLoadArgs } from '../../src/load/load-options.js';
import { bulwark } from './load-support.js';

test('Fortio\'s run ID: local start time, run ID when set, labels squeezed to letters, digits and single underscores, 96 characters at most', () => {
  const t = new Date(2024, 0, 2, 3, 4, 5);
  assert.equal(fortioRunId(t, 0, ''), '2024-01-02-030405');
  assert.equal(fortioRunId(t, 7, 'a b,,c!'), '2024-01-02-030405_7_a_b_c');
  assert.equal(fortioRunId(t, 0, ' ,localhost:8080/ , box'), '2024-01-02-030405_localhost_8080_box');
  assert.equal(fortioRunId(t, 0, 'x'.repeat(200)).length, 96);
});

test('load flags: Fortio\'s default labels (the target without scheme, then the host name), -runid, -a, -data-dir', () => {
  const host = hostname().split('.')[0];
  assert.equal(parseLoadArgs(['http://h:8080/x?y=1']).labels, `h:8080/x?y=1 , ${host}`);
  assert.equal(parseLoadArgs(['-grpc', 'h:8079']).labels, `h:8079 , ${host}`);
  assert.equal(parseLoadArgs(['-labels', 'mine', 'http://h/']).labels, 'mine');
  const d = parseLoadArgs(['http://h/']);
  assert.deepEqual([d.runId, d.autoSave, d.dataDir], [0, false, '.']);
  const a = parseLoadArgs(['-a', '-data-dir', '/tmp/x', '-runid', '42', 'http://h/']);
  assert.deepEqual([a.runId, a.autoSave, a.dataDir], [42, true, '/tmp/x']);
});

test('-a saves the JSON in -data-dir under the run ID, with RunID and ID in it; -json names the file instead', async () => {
  const server = http.createServer((_req, res) => res.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-autosave-'));
  try {
    const run = await bulwark(['load', '-quiet', '-a', '-data-dir', dir, '-runid', '42', '-labels', 'auto save', '-qps', '0', '-c', '1', '-n', '3', url]);
    assert.equal(run.code, 0, run.stderr);
    const files = readdirSync(dir);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^\d{4}-\d\d-\d\d-\d{6}_42_auto_save\.json$/);
    const r = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as FortioResult;
    assert.deepEqual([r.RunID, r.ID, r.Labels, r.DurationHistogram.Count], [42, files[0]!.replace(/\.json$/, ''), 'auto save', 3]);
    assert.match(run.stderr, new RegExp(`^Successfully wrote \\d+ bytes of Json data to ${join(dir, files[0]!).replaceAll('.', '\\.')}$`, 'm'));
    const named = join(dir, 'named.json');
    await bulwark(['load', '-quiet', '-a', '-data-dir', dir, '-json', named, '-qps', '0', '-c', '1', '-n', '1', url]);
    assert.equal(readdirSync(dir).length, 2, '-json wins over -a');
    const unlabeled = JSON.parse(readFileSync(named, 'utf8')) as FortioResult;
    assert.equal(unlabeled.Labels, `${url.slice('http://'.length)} , ${hostname().split('.')[0]}`);
    assert.equal(unlabeled.RunID, 0);
  } finally {
    server.close();
  }
});
