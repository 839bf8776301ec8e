import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { CLI } from '../support/cli-entry.js';
import { REPO_ROOT } from '../support/proxy-process.js';
import { bulwark, rawHttpServer, startEcho } from './load-support.js';

const HEAD = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Test: yes\r\n\r\n';
const CHUNKED = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n';

/** Runs `bulwark <args>` with `input` on its stdin. */
function bulwarkWithStdin(args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill(), 30_000);
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(timer), resolve({ code: code ?? 1, stdout, stderr }))));
}

test('-curl prints the fast client response as Fortio: the head on stderr, the body on stdout, exit 0 for a 200', async () => {
  const server = await rawHttpServer((path) => (path === '/chunked' ? CHUNKED : path === '/missing' ? 'HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop' : `${HEAD}hello`));
  try {
    const run = await bulwark(['load', '-curl', `${server.url}/`]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'hello');
    assert.ok(run.stderr.startsWith(HEAD), run.stderr);
    assert.ok(!run.stderr.includes('queries per second'), 'no load banner in curl mode');
    // -curl-stdout-headers: Fortio's pre-1.22 output, all of it on stdout.
    const both = await bulwark(['load', '-curl', '-curl-stdout-headers', `${server.url}/`]);
    assert.equal(both.stdout, `${HEAD}hello`);
    // The fast client prints what it read: chunked framing included.
    const chunked = await bulwark(['curl', `${server.url}/chunked`]);
    assert.equal(chunked.code, 0, chunked.stderr);
    assert.equal(chunked.stdout, '3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
    // The standard client prints the body alone.
    const std = await bulwark(['curl', '-stdclient', `${server.url}/chunked`]);
    assert.equal(std.stdout, 'abcde');
    // Not a 200: Fortio stops reading at the status, prints what it read on stdout (no head split) and exits 1.
    const missing = await bulwark(['curl', `${server.url}/missing`]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, 'HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop');
    assert.match(missing.stderr, /Error status 404/);
  } finally {
    server.close();
  }
});

test('-curl with nothing listening exits 1 with status -1', async () => {
  const server = await rawHttpServer(() => HEAD);
  const url = `${server.url}/`;
  await new Promise<void>((r) => {
    server.close();
    setTimeout(r, 50);
  });
  const run = await bulwark(['curl', url]);
  assert.equal(run.code, 1);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /Error status -1/);
});

test('-httpbufferkb caps what the fast client reads of a response, and says so', async () => {
  const body = 'x'.repeat(3000);
  const server = await rawHttpServer(() => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  try {
    const capped = await bulwark(['curl', '-httpbufferkb', '1', `${server.url}/`]);
    assert.equal(capped.code, 0, capped.stderr);
    const headLength = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`.length;
    assert.equal(capped.stdout.length, 1024 - headLength);
    assert.match(capped.stderr, /Buffer is too small for headers \+ data - change -httpbufferkb flag/);
    const whole = await bulwark(['curl', '-httpbufferkb', '4', `${server.url}/`]);
    assert.equal(whole.stdout, body);
    assert.doesNotMatch(whole.stderr, /Buffer is too small/);
  } finally {
    server.close();
  }
});

test('-stream sends stdin as the request body over HTTP/2 (h2c), as Fortio switches to its HTTP/2 client for it', async () => {
  const echo = await startEcho();
  try {
    const run = await bulwarkWithStdin(['curl', '-stream', `http://127.0.0.1:${echo.port}/echo`], 'streamed from stdin');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'streamed from stdin');
    const refused = await bulwark(['load', '-stream', `http://127.0.0.1:${echo.port}/`]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /-stream streams stdin as the body of a single call/);
  } finally {
    await echo.stop();
  }
});
