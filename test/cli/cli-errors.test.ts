/**
 * A user's mistake (bad input, a missing file, no CA yet) is reported as `bulwark <cmd>: <message>` with a
 * non-zero exit and no stack trace; BULWARK_DEBUG=1 brings the stack back.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI } from '../support/cli-entry.js';

const STACK_FRAME = /^\s+at /m;

function bulwark(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...CLI, ...args], { timeout: 30_000, env: { ...process.env, BULWARK_DEBUG: '', ...env } }, (err, _stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr });
    });
  });
}

const emptyState = (): string => mkdtempSync(join(tmpdir(), 'bulwark-cli-'));

test('ca sign without a CA names the command and the problem, without a stack trace', async () => {
  const r = await bulwark(['ca', 'sign', '--spiffe-id', 'spiffe://cluster.local/ns/a/sa/B', '--state-dir', emptyState()]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^bulwark ca: no CA in .* \(run bulwark ca init\)\n$/);
  assert.doesNotMatch(r.stderr, STACK_FRAME);
});

test('a missing input file is reported by path, without a stack trace', async () => {
  const missing = join(emptyState(), 'missing.pem');
  const r = await bulwark(['keys', 'import', '--label', 'x', missing, '--state-dir', emptyState()]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^bulwark keys: ENOENT: no such file or directory/);
  assert.ok(r.stderr.includes(missing));
  assert.doesNotMatch(r.stderr, STACK_FRAME);
});

test('a usage error names the command and exits 2', async () => {
  const r = await bulwark(['echo', '--port', '99999']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'bulwark echo: --port must be 0-65535\n');
});

test('BULWARK_DEBUG=1 keeps the stack trace of an expected error', async () => {
  const r = await bulwark(['ca', 'sign', '--spiffe-id', 'spiffe://cluster.local/ns/a/sa/B', '--state-dir', emptyState()], { BULWARK_DEBUG: '1' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^bulwark ca: CaError: no CA in/);
  assert.match(r.stderr, STACK_FRAME);
});

test('bulwark --version (and version) prints the package version and exits 0; an unknown command exits 2', async () => {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  for (const arg of ['--version', 'version']) {
    const out = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(process.execPath, [...CLI, arg], { timeout: 30_000 }, (err, stdout) => resolve({ code: err ? 1 : 0, stdout })),
    );
    assert.equal(out.code, 0);
    assert.equal(out.stdout, `bulwark ${version} (node ${process.version})\n`);
  }
  assert.equal((await bulwark(['no-such-command'])).code, 2);
});
