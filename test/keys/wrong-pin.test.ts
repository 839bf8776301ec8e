/**
 * A PIN the token refuses is final. Each try sends that PIN to the token again, and a hardware token
 * locks its user PIN after a few wrong ones (then only its security officer can unlock it), so the
 * proxy must not retry the load nor replace workers to try again: it refuses the config with the
 * token's reason, once per process, and never prints the PIN.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy } from '../support/proxy-process.js';
import { bulwark, custodyTransportSocket, newStateDir, selfSignedInCustody, startKeyd, writeTemp, type RunningKeyd } from './keyd-fixture.js';

const WRONG_PIN = 'wrong-pin-4711';

let state: string;
let keyd: RunningKeyd;
let cert: string;

before(async () => {
  state = newStateDir();
  bulwark(['keys', 'generate', '--label', 'gateway', '--state-dir', state]);
  keyd = await startKeyd(state);
  cert = selfSignedInCustody(state, 'gateway', 'gateway', 'DNS:gateway.test');
});

after(async () => {
  await keyd?.stop();
});

for (const concurrency of [1, 2]) {
  test(`a PIN file the token refuses fails the start at once, one login per process (${concurrency} worker${concurrency > 1 ? 's' : ''})`, async () => {
    const pinFile = writeTemp('gateway.pin', WRONG_PIN);
    const transport = custodyTransportSocket(cert, 'gateway') as { typedConfig: { commonTlsContext: { tlsCertificates: Array<{ privateKeyProvider: { typedConfig: Record<string, string> } }> } } };
    transport.typedConfig.commonTlsContext.tlsCertificates[0]!.privateKeyProvider.typedConfig.pinFile = pinFile;
    const port = await freePort();
    const yaml = bootstrap([httpListener('gw', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up' } }]), {}, { transportSocket: transport })], [staticCluster('up', [1])]);
    const logs = await startProxy(yaml, { concurrency, extraArgs: ['--keyd', state] }).then(
      () => assert.fail('the proxy started with a PIN its token refuses'),
      (e: Error) => e.message,
    );
    assert.match(logs, /PIN incorrect/);
    assert.doesNotMatch(logs, /trying again|replacing it|worker replaced/);
    // libp11 prints "Login failed" for each login the token refused.
    const logins = logs.split('\n').filter((l) => l === 'Login failed').length;
    assert.equal(logins, concurrency, 'each process sent the PIN once');
    assert.ok(!logs.includes(WRONG_PIN), 'the PIN is not printed');
  });
}
