/**
 * A TCP proxy listener balanced in the primary (round-robin, exact) forwards the bytes a client sends
 * the moment it connects: they reach the worker before its upstream connection is up, and wait for it.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { bootstrap, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy } from '../support/proxy-process.js';

/** Connects, writes at once, and resolves with what comes back (or 'no answer' after a second). */
function echoOf(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) {
        socket.destroy();
        resolve(got);
      }
    });
    socket.on('error', () => undefined);
    setTimeout(() => {
      socket.destroy();
      resolve(got || 'no answer');
    }, 1000).unref();
  });
}

for (const balancer of ['round-robin', 'exact']) {
  test(`${balancer}: a TCP proxy connection handed to a worker keeps the bytes sent at connect`, async () => {
    const echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const port = await freePort();
    const listener = {
      name: 'tcp',
      address: { socketAddress: { address: '127.0.0.1', portValue: port } },
      connectionBalanceConfig: { balancer },
      filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: 'tcp', cluster: 'echo' } }] }],
    };
    const proxy = await startProxy(bootstrap([listener], [staticCluster('echo', [(echo.address() as net.AddressInfo).port])]), { concurrency: 2 });
    try {
      const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => echoOf(port, `hello ${i}`)));
      assert.deepEqual(answers, ['hello 0', 'hello 1', 'hello 2', 'hello 3']);
    } finally {
      await proxy.stop();
      echo.close();
    }
  });
}
