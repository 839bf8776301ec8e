import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSpiffeId, SpiffeIdError } from '../../src/identity/spiffe-id.js';
import { bulwark, newStateDir } from '../keys/keyd-fixture.js';

const openssl = (args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('SPIFFE IDs: Istio shape accepted, anything else refused with the reason', () => {
  assert.deepEqual(parseSpiffeId('spiffe://cluster.local/ns/default/sa/web'), { trustDomain: 'cluster.local', namespace: 'default', serviceAccount: 'web' });
  for (const bad of ['spiffe://Cluster.Local/ns/a/sa/b', 'spiffe://td/ns/a', 'https://td/ns/a/sa/b', 'spiffe://td/ns/A_b/sa/c', 'spiffe://td/ns/a/sa/b/extra', 'spiffe:///ns/a/sa/b']) {
    assert.throws(() => parseSpiffeId(bad), SpiffeIdError, bad);
  }
});

test('the CA root key and workload keys are generated in tokens; SVIDs verify and carry only the SPIFFE ID', () => {
  const state = newStateDir();
  const init = JSON.parse(bulwark(['ca', 'init', '--trust-domain', 'cluster.local', '--state-dir', state])) as { bundle: string; notAfter: string };
  const again = JSON.parse(bulwark(['ca', 'init', '--trust-domain', 'cluster.local', '--state-dir', state])) as { notAfter: string };
  assert.equal(again.notAfter, init.notAfter, 'init is idempotent: the same root');
  const years = (Date.parse(init.notAfter) - Date.now()) / (365 * 86_400_000);
  assert.ok(years > 9.9 && years < 10.1, `root valid ${years} years`);
  const issued = JSON.parse(bulwark(['ca', 'issue', '--identity', 'default/web', '--state-dir', state])) as { certificate: string; spiffeId: string; token: string; notAfter: string };
  assert.equal(issued.spiffeId, 'spiffe://cluster.local/ns/default/sa/web');
  assert.match(openssl(['verify', '-CAfile', init.bundle, issued.certificate]), /: OK/);
  const text = openssl(['x509', '-noout', '-text', '-in', issued.certificate]);
  assert.match(text, /URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/web/);
  assert.match(text, /prime256v1/);
  assert.match(text, /ecdsa-with-SHA256/);
  assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
  const hours = (Date.parse(issued.notAfter) - Date.now()) / 3_600_000;
  assert.ok(hours > 23.9 && hours <= 24.01, `SVID valid ${hours} h`);
  const keys = JSON.parse(bulwark(['keys', 'list', '--json', '--state-dir', state])) as Array<{ token: string; label: string; sensitive: boolean; extractable: boolean; local: boolean }>;
  for (const [token, label] of [['ca', 'ca-root'], [issued.token, 'svid']]) {
    const k = keys.find((x) => x.token === token && x.label === label);
    assert.ok(k, `${token}/${label} listed`);
    assert.equal(k.sensitive, true);
    assert.equal(k.extractable, false);
    assert.equal(k.local, true, 'generated inside the token');
  }
});

test('the CA refuses a CSR from another trust domain, a forged CSR and a non-P-256 key', () => {
  const state = newStateDir();
  bulwark(['ca', 'init', '--trust-domain', 'cluster.local', '--state-dir', state]);
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-csr-'));
  const key = join(dir, 'k.pem');
  const csr = join(dir, 'c.csr');
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=external']);
  const ok = bulwark(['ca', 'sign', '--csr', csr, '--spiffe-id', 'spiffe://cluster.local/ns/ext/sa/app', '--state-dir', state]);
  assert.match(ok, /BEGIN CERTIFICATE/);
  const fails = (args: string[], re: RegExp): void => {
    assert.throws(() => bulwark(['ca', 'sign', ...args, '--state-dir', state]), (e: Error & { stderr?: string }) => re.test(String(e.stderr)));
  };
  fails(['--csr', csr, '--spiffe-id', 'spiffe://evil.example/ns/ext/sa/app'], /outside trust domain cluster\.local/);
  // Flip one byte inside the signature: the proof of possession no longer verifies.
  const der = Buffer.from(readFileSync(csr, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - 5]! ^= 0x01;
  const forged = join(dir, 'forged.csr');
  writeFileSync(forged, `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`);
  fails(['--csr', forged, '--spiffe-id', 'spiffe://cluster.local/ns/ext/sa/app'], /does not verify|unreadable CSR/);
  const rsaCsr = join(dir, 'rsa.csr');
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'rsa.key'), '-out', rsaCsr, '-subj', '/CN=rsa']);
  fails(['--csr', rsaCsr, '--spiffe-id', 'spiffe://cluster.local/ns/ext/sa/app'], /ECDSA P-256/);
});
