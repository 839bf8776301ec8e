/**
 * nginx over TLS as an HTTP/2 upstream with a requests-per-connection limit closes the connection as
 * soon as the last stream it let through has been sent. The end of a response paused for a slow
 * HTTP/2 client is then still in node's buffer of the upstream stream, and node destroys such
 * streams with their socket: the proxy cut those responses (UC) a few tens of KB short of their end.
 * Each response must arrive whole.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { startNginxTlsFiles, type NginxTlsFiles } from '../support/nginx-tls-files.js';

const run = promisify(execFile);
const FILE_BYTES = 2_000_000;
const REQUESTS = 40;
let upstream: NginxTlsFiles;

before(async () => {
  upstream = await startNginxTlsFiles(FILE_BYTES, 2);
});

after(async () => {
  await upstream?.stop();
});

test('responses paused for HTTP/2 clients arrive whole when the TLS upstream closes right after its last stream', async () => {
  // Many streams per client connection, each with HTTP/2's default 64 KB window: the proxy's
  // upstream streams are paused most of the time.
  const { stdout } = await run('h2load', ['-n', String(REQUESTS), '-c', '2', '-m', '10', `http://127.0.0.1:${upstream.port}/file.bin`], { timeout: 60_000 });
  const diagnostics = `h2load:\n${stdout}\nproxy:\n${upstream.proxy.logs().slice(-2000)}`;
  assert.match(stdout, new RegExp(`requests: ${REQUESTS} total, ${REQUESTS} started, ${REQUESTS} done, ${REQUESTS} succeeded, 0 failed`), diagnostics);
  assert.match(stdout, new RegExp(`\\(${FILE_BYTES * REQUESTS}\\) data`), diagnostics);
});
