/**
 * keyd's state directories must belong to the user that runs it. One created beforehand by another user
 * (a shared working directory, /tmp) stays under that user's control whatever mode keyd sets, so its
 * owner could read or swap what keyd writes there: PIN files, SoftHSM's config, the engine config
 * every proxy loads. keyd and the key commands refuse it, naming it, and write nothing into it; a proxy
 * refuses an engine config (which names the engine library it loads) that another user owns or may write.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI } from '../support/cli-entry.js';
import { writeEngineConfig } from '../../src/keys/engine-config.js';
import { stateLayout } from '../../src/keys/state-dir.js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { REPO_ROOT, startProxy } from '../support/proxy-process.js';
import { newStateDir } from './keyd-fixture.js';

/** nobody: a user other than the one running the test (which must be root to give it a directory). */
const OTHER_UID = 65534;

function run(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr };
}

function foreignDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chownSync(path, OTHER_UID, OTHER_UID);
}

test('a state directory owned by another user is refused by keys, ca and keyd, and nothing is written into it', () => {
  assert.equal(process.getuid?.(), 0, 'the test gives a directory to another user, which takes root');
  const state = newStateDir();
  foreignDir(state);
  for (const args of [
    ['keys', 'generate', '--label', 'gateway'],
    ['ca', 'init', '--trust-domain', 'cluster.local'],
    ['keyd'],
  ]) {
    const r = run([...args, '--state-dir', state]);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`state directory ${state} is owned by uid ${OTHER_UID}`));
    assert.doesNotMatch(r.stderr, /internal error/);
  }
  assert.deepEqual(readdirSync(state), [], 'no token, PIN or config was written');
});

test("keyd refuses its run directory (where proxies' engine config is written) when another user owns it", () => {
  const state = newStateDir();
  mkdirSync(state, { recursive: true, mode: 0o700 });
  foreignDir(join(state, 'keyd'));
  const r = run(['keyd', '--state-dir', state]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`state directory ${join(state, 'keyd')} is owned by uid ${OTHER_UID}`));
  assert.equal(existsSync(join(state, 'keyd', 'openssl-pkcs11.cnf')), false);
});

test('a proxy refuses an engine config that another user owns or that group or others may write', async () => {
  const port = await freePort();
  const yaml = bootstrap([httpListener('plain', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up' } }]))], [staticCluster('up', [1])]);
  for (const [why, loosen, reason] of [
    ['owned by another user', (conf: string) => chownSync(conf, OTHER_UID, OTHER_UID), `is owned by uid ${OTHER_UID}`],
    ['writable by others', (conf: string) => chmodSync(conf, 0o666), 'has mode 0666, writable by group or others'],
  ] as const) {
    const layout = stateLayout(newStateDir());
    mkdirSync(layout.run, { recursive: true, mode: 0o700 });
    writeEngineConfig(layout.engineConf);
    loosen(layout.engineConf);
    await assert.rejects(
      startProxy(yaml, { concurrency: 1, extraArgs: ['--keyd', layout.root] }).then((p) => p.stop()),
      (err: Error) => err.message.includes(`engine config ${layout.engineConf} ${reason}`),
      why,
    );
  }
});
