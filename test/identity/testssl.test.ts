import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startCustodyGateway, type CustodyGateway } from '../keys/keyd-fixture.js';

let custody: CustodyGateway;
let port: number;

before(async () => {
  custody = await startCustodyGateway();
  ({ port } = custody);
});

after(async () => {
  await custody?.stop();
});

interface Finding {
  id: string;
  severity: string;
  finding: string;
}

test('testssl.sh: no SSLv3/TLS 1.0/1.1, no static RSA, no weak ciphers, forward secrecy everywhere, no client-initiated renegotiation (key in custody)', { timeout: 300_000 }, async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'bulwark-testssl-')), 'result.json');
  // Protocols, cipher categories, forward secrecy and renegotiation: the checks the gateway's policy decides.
  await new Promise<void>((resolve) =>
    execFile('testssl', ['--quiet', '--color', '0', '--warnings', 'off', '-p', '-s', '-f', '-R', '--jsonfile', out, `127.0.0.1:${port}`], { timeout: 280_000, maxBuffer: 16 * 1024 * 1024 }, () => resolve()),
  );
  const findings = JSON.parse(readFileSync(out, 'utf8')) as Finding[];
  const by = (id: string): Finding => {
    const f = findings.find((x) => x.id === id);
    assert.ok(f, `testssl reported no ${id}: ${findings.map((x) => x.id).join(' ')}`);
    return f;
  };
  for (const id of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']) assert.match(by(id).finding, /not offered/, id);
  assert.match(by('TLS1_2').finding, /offered/);
  assert.match(by('TLS1_3').finding, /offered/);
  for (const id of ['cipherlist_NULL', 'cipherlist_aNULL', 'cipherlist_EXPORT', 'cipherlist_LOW', 'cipherlist_3DES_IDEA', 'cipherlist_AVERAGE']) {
    assert.match(by(id).finding, /not offered/, id);
  }
  assert.match(by('cipherlist_STRONG').finding, /offered/);
  // testssl 3.0 calls forward secrecy "PFS"; later versions "FS".
  const fs = findings.find((x) => x.id === 'FS') ?? by('PFS');
  assert.ok(/offered/.test(fs.finding) && !/not offered/.test(fs.finding), `forward secrecy: ${fs.finding}`);
  // A client-initiated renegotiation would be one more signature in the token per request (a DoS lever).
  assert.match(by('secure_client_renego').finding, /not vulnerable/);
  process.stdout.write(`# testssl verdict: ${findings.filter((f) => /^(SSLv|TLS1|cipherlist_|PFS|FS)/.test(f.id)).map((f) => `${f.id}=${f.finding}`).join('; ')}\n`);
  const bad = findings.filter((f) => ['HIGH', 'CRITICAL'].includes(f.severity));
  assert.deepEqual(bad, [], 'no high or critical findings');
});
