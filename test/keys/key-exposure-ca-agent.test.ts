/**
 * The CA agent runs as long as its workload and signs in-process through the token module, so its memory
 * is scanned like a proxy's: it holds neither the CA root key (imported here, so its bytes are known) nor
 * the SO PIN of any token, its workload's included. The workload's user PIN it needs to sign its CSRs.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CLI } from '../support/cli-entry.js';
import { REPO_ROOT } from '../support/proxy-process.js';
import { bulwark, newStateDir, writeTemp } from './keyd-fixture.js';
import { keyNeedles, processTree, scanProcessMemory } from './secret-scan.js';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rootPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const rootNeedles = keyNeedles(Buffer.from(createPrivateKey(rootPem).export({ format: 'jwk' }).d!, 'base64url'), rootPem);

let state: string;
let agent: ChildProcess;
let issued: { token: string };

before(async () => {
  state = newStateDir();
  bulwark(['keys', 'import', '--label', 'ca-root', '--token', 'ca', '--state-dir', state, writeTemp('root.pem', rootPem)]);
  bulwark(['ca', 'init', '--trust-domain', 'cluster.local', '--state-dir', state]);
  agent = spawn(process.execPath, [...CLI, 'ca', 'agent', '--identity', 'shop/orders', '--state-dir', state], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  issued = await new Promise((resolve, reject) => {
    let out = '';
    agent.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('svid issued'));
      if (line) resolve(JSON.parse(line) as { token: string });
    });
    agent.once('exit', (code) => reject(new Error(`ca agent exited with ${code}: ${out}`)));
  });
});

after(() => {
  agent?.kill('SIGTERM');
});

test('a running CA agent holds neither the CA root key nor any SO PIN in memory', () => {
  const pins = join(state, 'pins');
  const soPins = [`${issued.token}.so-pin`, 'ca.so-pin'].map((f) => readFileSync(join(pins, f)));
  const pids = processTree(agent.pid!);
  assert.deepEqual(
    pids.flatMap((pid) => scanProcessMemory(pid, soPins)),
    [],
    'no SO PIN',
  );
  assert.deepEqual(
    pids.flatMap((pid) => scanProcessMemory(pid, rootNeedles)),
    [],
    'no CA root key',
  );
  // The scan can find what the agent does hold: its workload token's user PIN, which signs the CSR.
  assert.notDeepEqual(
    pids.flatMap((pid) => scanProcessMemory(pid, [readFileSync(join(pins, `${issued.token}.pin`))])),
    [],
  );
});
