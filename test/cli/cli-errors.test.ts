/**
 * A user's mistake (bad input, a missing file, no CA yet) is reported as `bulwark <cmd>: <message>` with a
 * non-zero exit and no stack trace; BULWARK_DEBUG=1 brings the stack back.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

test('an encrypted or unreadable key file is refused with the reason, without a stack trace or the key', async () => {
  const dir = emptyState();
  const encrypted = join(dir, 'encrypted.pem');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  writeFileSync(encrypted, privateKey, { mode: 0o600 });
  const r = await bulwark(['keys', 'import', '--label', 'x', encrypted, '--state-dir', emptyState()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'bulwark keys: the private key is encrypted: import an unencrypted PEM (it is overwritten and removed once in the token)\n');
  // A public key where the private one was meant: PEM, but no private key in it.
  const publicOnly = join(dir, 'public.pem');
  const publicPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  writeFileSync(publicOnly, publicPem, { mode: 0o600 });
  const g = await bulwark(['keys', 'import', '--label', 'y', publicOnly, '--state-dir', emptyState()]);
  assert.equal(g.code, 1);
  assert.match(g.stderr, /^bulwark keys: no private key in the file/);
  assert.doesNotMatch(g.stderr, STACK_FRAME);
  assert.ok(!g.stderr.includes(publicPem.split('\n')[1]!), 'the file is not quoted');
});

test('proxy --keyd on a state directory keyd never ran in says so, without a stack trace', async () => {
  const state = emptyState();
  const r = await bulwark(['proxy', '--config', join(state, 'none.yaml'), '--keyd', state]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^bulwark proxy: keyd has not run in /);
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
