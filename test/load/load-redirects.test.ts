import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { bulwark } from './load-support.js';

/*
 * Fortio's -L: its standard client (which -L switches to) follows redirects as Go's http.Client
 * does, up to 10, and records the last response (fhttp/http_client.go NewStdClient, bincommon).
 */

interface Seen {
  method: string;
  path: string;
  host: string;
  referer: string | undefined;
  authorization: string | undefined;
}

let origin: http.Server;
let other: http.Server;
const seen: Seen[] = [];
let otherUrl = '';

function listen(server: http.Server): Promise<string> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

before(async () => {
  const record = (req: http.IncomingMessage): void => {
    seen.push({ method: req.method!, path: req.url!, host: req.headers.host!, referer: req.headers.referer, authorization: req.headers.authorization });
  };
  other = http.createServer((req, res) => {
    record(req);
    res.end('final body');
  });
  otherUrl = await listen(other);
  origin = http.createServer((req, res) => {
    record(req);
    req.resume();
    const [path, query] = req.url!.split('?');
    // /a -> /b (302, relative) -> other host /c (301), which answers 200.
    if (path === '/a') res.writeHead(302, { location: '/b' }).end('moved');
    else if (path === '/b') res.writeHead(301, { location: `${otherUrl}/c` }).end();
    else if (path === '/post') res.writeHead(303, { location: '/b' }).end();
    // /loop?n=k redirects forever.
    else if (path === '/loop') res.writeHead(302, { location: `/loop?n=${Number(query?.slice(2) ?? 0) + 1}` }).end();
    else res.writeHead(404).end();
  });
  await listen(origin);
});

after(() => {
  origin.close();
  other.close();
});

async function load(args: string[]): Promise<FortioResult> {
  const r = await bulwark(['load', '-quiet', '-qps', '0', '-c', '1', '-json', '-', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as FortioResult;
}

test('-L follows a chain of redirects across hosts and records the last response, its body as the size', async () => {
  const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  seen.length = 0;
  const r = await load(['-L', '-n', '3', '-H', 'Authorization: Bearer t', `${url}/a`]);
  assert.deepEqual(r.RetCodes, { '200': 3 });
  assert.equal(r.Sizes.Min, 'final body'.length);
  assert.equal(r.Sizes.Max, 'final body'.length);
  assert.deepEqual([r.FollowRedirects, r.DisableFastClient], [true, true]);
  assert.deepEqual(seen.map((s) => s.path), ['/a', '/b', '/c', '/a', '/b', '/c', '/a', '/b', '/c']);
  const hop = seen[2]!;
  assert.equal(hop.host, new URL(otherUrl).host);
  assert.equal(hop.referer, `${url}/b`, 'Go sends the previous URL as Referer');
  assert.equal(seen[1]!.authorization, 'Bearer t', 'the same host keeps the authorization');
  assert.equal(r.SocketCount, 2, 'one keep-alive connection per origin');
  const without = await load(['-n', '2', `${url}/a`]);
  assert.deepEqual(without.RetCodes, { '302': 2 }, 'without -L the redirect is the response');
  assert.equal(without.FollowRedirects, false);
});

test('-L: a 303 turns a POST into a GET without a body; past 10 redirects the call fails as Go\'s client does', async () => {
  const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  seen.length = 0;
  const post = await load(['-L', '-n', '1', '-payload', 'data', `${url}/post`]);
  assert.deepEqual(post.RetCodes, { '200': 1 });
  assert.deepEqual(seen.map((s) => `${s.method} ${s.path}`), ['POST /post', 'GET /b', 'GET /c']);
  seen.length = 0;
  const loop = await load(['-L', '-n', '1', `${url}/loop`]);
  assert.deepEqual(loop.RetCodes, { '-1': 1 });
  assert.equal(seen.length, 11, 'the first request and 10 redirects, as Go\'s defaultCheckRedirect');
});
