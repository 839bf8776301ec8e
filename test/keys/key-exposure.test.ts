import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { bulwark, newStateDir, selfSignedInCustody, startKeyd, writeTemp, type RunningKeyd } from './keyd-fixture.js';
import { keyNeedles, processTree, scanEnvironAndCmdline, scanFiles, scanProcessMemory } from './secret-scan.js';

// A known key: imported into the token, then it must be nowhere but there.
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const d = Buffer.from(createPrivateKey(pem).export({ format: 'jwk' }).d!, 'base64url');
const needles = keyNeedles(d, pem);

let state: string;
let keyd: RunningKeyd;
let up: TestUpstream;
let certFile: string;

before(async () => {
  state = newStateDir();
  const pemFile = writeTemp('gateway.pem', pem);
  const out = bulwark(['keys', 'import', '--label', 'gateway', '--state-dir', state, pemFile]);
  assert.match(out, /imported ec-p256 key "gateway"/);
  assert.equal(existsSync(pemFile), false, 'the imported PEM is removed');
  keyd = await startKeyd(state);
  certFile = selfSignedInCustody(state, 'gateway', 'gateway', 'DNS:gateway.test');
  up = await startUpstream('up');
});

after(async () => {
  await up?.close();
  await keyd?.stop();
});

async function gatewayWith(tlsCertificate: Record<string, unknown>, extraArgs: string[]): Promise<{ proxy: RunningProxy; port: number }> {
  const port = await freePort();
  const routes = routeConfig([{ name: 'all', match: { prefix: '/' }, route: { cluster: 'up' } }]);
  const tls = { transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { commonTlsContext: { tlsCertificates: [tlsCertificate] } } } };
  const proxy = await startProxy(bootstrap([httpListener('gw', port, routes, {}, tls)], [staticCluster('up', [up.port])]), { extraArgs });
  return { proxy, port };
}

async function driveTraffic(port: number): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const r = await curl(['-k', '--resolve', `gateway.test:${port}:127.0.0.1`, `https://gateway.test:${port}/x${i}`]);
    assert.equal(r.status, 200);
  }
}

function proxyMemoryFindings(proxy: RunningProxy): string[] {
  return processTree(proxy.child.pid!).flatMap((pid) => scanProcessMemory(pid, needles));
}

test('with the key in keyd, its bytes are absent from state files, environments, command lines and proxy memory', async () => {
  const keys = JSON.parse(bulwark(['keys', 'list', '--json', '--state-dir', state])) as Array<Record<string, unknown>>;
  const gw = keys.find((k) => k.label === 'gateway')!;
  assert.equal(gw.sensitive, true);
  assert.equal(gw.extractable, false);

  const { proxy, port } = await gatewayWith({ certificateChain: { filename: certFile }, privateKeyProvider: { providerName: 'pkcs11', typedConfig: { keyLabel: 'gateway' } } }, ['--keyd', state]);
  try {
    await driveTraffic(port);
    assert.deepEqual(scanFiles(state, needles), []);
    assert.deepEqual(scanEnvironAndCmdline(needles), []);
    assert.deepEqual(proxyMemoryFindings(proxy), []);
  } finally {
    await proxy.stop();
  }
});

test('the same scan finds the key in proxy memory with the memory provider (the test can fail)', async () => {
  const keyFile = writeTemp('gateway-key.pem', pem);
  const { proxy, port } = await gatewayWith({ certificateChain: { filename: certFile }, privateKey: { filename: keyFile } }, ['--insecure-memory-keys']);
  try {
    await driveTraffic(port);
    assert.notDeepEqual(proxyMemoryFindings(proxy), []);
  } finally {
    await proxy.stop();
  }
});
