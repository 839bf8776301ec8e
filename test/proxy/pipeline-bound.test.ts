/**
 * Pipelined bytes that arrive while a request is in flight wait in the parser; past a bound the
 * connection stops reading until the response is done. Unbounded, a client could make the proxy
 * hold (and re-copy) everything it sends behind one slow request.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  upstream = await startUpstream('u', (req, res) => {
    setTimeout(() => res.end(`done ${req.url}`), req.url === '/slow' ? 2000 : 0);
  });
  port = await freePort();
  proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'u' } }]))], [staticCluster('u', [upstream.port])]));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

test('bytes pipelined behind a slow request are not all read into memory', async () => {
  const pid = proxy.child.pid!;
  const before = rssMb(pid);
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  socket.write('GET /slow HTTP/1.1\r\nhost: a\r\n\r\n');
  // A valid second request, then a stream of bytes behind it, pushed for as long as the first runs.
  socket.write('GET /next HTTP/1.1\r\nhost: a\r\n\r\n');
  const chunk = Buffer.alloc(256 * 1024, 0x78);
  const until = Date.now() + 1500;
  let peak = before;
  while (Date.now() < until) {
    if (!socket.write(chunk)) await new Promise((r) => setTimeout(r, 10));
    peak = Math.max(peak, rssMb(pid));
  }
  const reply = await new Promise<string>((resolve) => {
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      got += d;
      if (got.includes('done /next')) resolve(got);
    });
    setTimeout(() => resolve(got), 5000);
  });
  socket.destroy();
  assert.match(reply, /done \/slow/);
  assert.match(reply, /done \/next/, 'the pipelined request behind the slow one is still served');
  assert.ok(peak - before < 16, `RSS grew ${(peak - before).toFixed(1)} MB while the client pushed bytes behind a slow request`);
});
