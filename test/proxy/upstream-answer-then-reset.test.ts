/**
 * Python's http.server answers a method it has no handler for (here PUT) with 501 and closes without
 * reading the body. Its kernel then resets the connection (unread bytes), and the proxy, still
 * sending the upload, got EPIPE or ECONNRESET from its write before it had read the 501 waiting in
 * its receive buffer: it destroyed the socket, discarding the answer, and told the client 503 (UC)
 * for nearly every large upload. A chunked upload (a body of unknown length) went the same way
 * after Content-Length ones were fixed: its chunks were written on another path.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'bulwark-answer-reset-'));
const bodyFile = join(dir, 'body.bin');
let python: ChildProcess;
let proxy: RunningProxy;
let port: number;

function accepts(p: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(p, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

before(async () => {
  writeFileSync(bodyFile, Buffer.alloc(5_000_000, 0x61));
  const upstreamPort = await freePort();
  const server = `import http.server\nclass H(http.server.BaseHTTPRequestHandler):\n    protocol_version = 'HTTP/1.1'\n    def log_message(self, *a): pass\nhttp.server.ThreadingHTTPServer(('127.0.0.1', ${upstreamPort}), H).serve_forever()\n`;
  python = spawn('python3', ['-c', server], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!(await accepts(upstreamPort))) {
    if (Date.now() > deadline) throw new Error('python http.server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  port = await freePort();
  proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'py' } }]))], [staticCluster('py', [upstreamPort])]));
});

after(async () => {
  await proxy?.stop();
  python?.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** The statuses curl reports for ten uploads of the body file; `extra` adds to its arguments. */
async function uploadCodes(extra: string[]): Promise<string[]> {
  const codes: string[] = [];
  for (let i = 0; i < 10; i++) {
    // curl's exit status is not asserted: it may read a reset of its own upload after the answer (56).
    const { stdout } = await run('curl', ['-s', '--http1.1', ...extra, '-T', bodyFile, '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/upload`], { timeout: 20_000 }).catch((err: { stdout: string }) => err);
    codes.push(stdout);
  }
  return codes;
}

test("an upload the upstream refuses and resets gets the upstream's answer, not 503", async () => {
  assert.deepEqual(await uploadCodes([]), Array(10).fill('501'), proxy.logs().slice(-2000));
});

test("a chunked upload the upstream refuses and resets gets the upstream's answer, not 503", async () => {
  assert.deepEqual(await uploadCodes(['-H', 'transfer-encoding: chunked']), Array(10).fill('501'), proxy.logs().slice(-2000));
});
