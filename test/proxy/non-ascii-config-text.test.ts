/**
 * Config text is Unicode; the wire is bytes. A value, matcher, rewrite or redirect written "café" in a
 * route stands for the UTF-8 bytes 63 61 66 C3 A9, as in Envoy. The proxy held wire bytes as one
 * Latin-1 character each but config text as it was written: an added "café" went out as the single
 * byte E9 (and "€" as AC), and a route matching "café" never matched a client that sent it in UTF-8,
 * over HTTP/1.1 or HTTP/2. Config text that meets the wire is now held as its UTF-8 bytes; a header
 * regex's non-ASCII character becomes a group of its bytes, and one inside a character class is refused.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, staticCluster } from '../support/config-builder.js';
import { curl, type CurlResult } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { logLineStartingWith } from '../support/log-lines.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { scratchPath } from '../support/scratch-path.js';

/** Request heads exactly as the upstream's socket received them, one Latin-1 character per byte. */
const heads: string[] = [];
let upstream: net.Server;
let proxy: RunningProxy;
let port: number;
const accessLog = scratchPath('non-ascii-config-text.log');

/** Text as the bytes that carry it in UTF-8, one Latin-1 character each (how curl's output is read). */
const utf8 = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');
const add = (key: string, value: string) => ({ header: { key, value } });
const PROTOCOLS = [['HTTP/1.1', '--http1.1'], ['HTTP/2', '--http2-prior-knowledge']] as const;

function routes(extra: object[] = []): object {
  const answer = (name: string) => ({ directResponse: { status: 200, body: { inlineString: name } } });
  return {
    name: 'routes',
    virtualHosts: [
      {
        name: 'vh',
        domains: ['*'],
        routes: [
          ...extra,
          { match: { prefix: '/m', headers: [{ name: 'x-name', stringMatch: { exact: 'café' } }] }, ...answer('exact') },
          { match: { prefix: '/m', headers: [{ name: 'x-name', stringMatch: { prefix: 'übe' } }] }, ...answer('prefix') },
          { match: { prefix: '/m', headers: [{ name: 'x-name', stringMatch: { safeRegex: { regex: 'naïve-[0-9]+' } } }] }, ...answer('regex') },
          { match: { prefix: '/m', headers: [{ name: 'x-name', stringMatch: { safeRegex: { regex: 'ü+ber' } } }] }, ...answer('regex-repeat') },
          { match: { prefix: '/m', headers: [{ name: 'x-name', stringMatch: { contains: 'é', ignoreCase: true } }] }, ...answer('contains-ignore-case') },
          { match: { prefix: '/m', queryParameters: [{ name: 'q', stringMatch: { exact: 'café' } }] }, ...answer('query') },
          { match: { prefix: '/add' }, route: { cluster: 'up' }, requestHeadersToAdd: [add('x-added', 'café €')], responseHeadersToAdd: [add('x-said', 'naïve €')] },
          { match: { prefix: '/rewrite/' }, route: { cluster: 'up', prefixRewrite: '/ünï/', hostRewriteLiteral: 'bücher.example' } },
          { match: { prefix: '/regex-rewrite/' }, route: { cluster: 'up', regexRewrite: { pattern: { regex: '^/regex-rewrite/(.*)$' }, substitution: '/ü/\\1' } } },
          { name: 'menü', match: { prefix: '/named' }, ...answer('named'), responseHeadersToAdd: [add('x-route', '%ROUTE_NAME%')] },
          { match: { prefix: '/moved' }, redirect: { hostRedirect: 'bücher.example', pathRedirect: '/über' } },
          { match: { prefix: '/' }, ...answer('fallback') },
        ],
      },
    ],
  };
}

before(async () => {
  upstream = net.createServer((socket) => {
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        heads.push(pending.slice(0, end));
        pending = pending.slice(end + 4);
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  proxy = await startProxy(config(routes()));
});

after(async () => {
  await proxy?.stop();
  rmSync(accessLog, { force: true });
  upstream?.close();
});

function config(routeConfiguration: object): string {
  const log = { typedConfig: { path: accessLog, logFormat: { textFormat: '%ROUTE_NAME% %REQ(x-name)%\n' } } };
  return bootstrap([httpListener('in', port, routeConfiguration, { accessLog: [log] })], [staticCluster('up', [(upstream.address() as net.AddressInfo).port])]);
}

function get(flag: string, path: string, headers: string[] = []): Promise<CurlResult> {
  return curl([flag, ...headers.flatMap((h) => ['-H', h]), `http://127.0.0.1:${port}${path}`]);
}

/** The last request the upstream received: its target and one header's value, as bytes. */
function lastRequest(header: string): { url: string; value: string | undefined } {
  const [requestLine, ...fields] = heads[heads.length - 1]!.split('\r\n');
  const field = fields.find((f) => f.toLowerCase().startsWith(`${header}:`));
  return { url: requestLine!.split(' ')[1]!, value: field?.slice(header.length + 1).trim() };
}

for (const [protocol, flag] of PROTOCOLS) {
  test(`header matchers compare a config's "café" with the UTF-8 bytes a client sends (${protocol})`, async () => {
    const route = async (value: string): Promise<string> => (await get(flag, '/m', [`x-name: ${value}`])).body;
    assert.equal(await route('café'), 'exact');
    assert.equal(await route('über-alles'), 'prefix');
    assert.equal(await route('naïve-42'), 'regex');
    assert.equal(await route('üüber'), 'regex-repeat', 'a quantifier repeats the whole character, not its last byte');
    assert.equal(await route('CAFÉ'), 'fallback', 'É is not é: Envoy folds ASCII letters only');
    assert.equal(await route('x㩀'), 'fallback', 'U+3A40 (E3 A9 80) holds no é (C3 A9), whatever case is ignored');
    assert.equal(await route('Xé'), 'contains-ignore-case');
  });

  test(`query parameter matchers meet the UTF-8 bytes a client percent-encodes (${protocol})`, async () => {
    assert.equal((await get(flag, '/m?q=caf%C3%A9')).body, 'query');
    assert.equal((await get(flag, '/m?q=caf%E9')).body, 'fallback', 'a Latin-1 é is not the UTF-8 one');
  });

  test(`added header values go out as their UTF-8 bytes both ways (${protocol})`, async () => {
    const r = await get(flag, '/add');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-said'], utf8('naïve €'));
    assert.equal(lastRequest('x-added').value, utf8('café €'));
  });

  test(`rewrites, a host rewrite and redirects write their UTF-8 bytes (${protocol})`, async () => {
    assert.equal((await get(flag, '/rewrite/x')).status, 200);
    assert.deepEqual(lastRequest('host'), { url: utf8('/ünï/x'), value: utf8('bücher.example') });
    assert.equal((await get(flag, '/regex-rewrite/x')).status, 200);
    assert.equal(lastRequest('host').url, utf8('/ü/x'));
    const moved = await get(flag, '/moved');
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.location, utf8('http://bücher.example/über'));
  });

  test(`a route's non-ASCII name goes into header values and the access log as UTF-8 (${protocol})`, async () => {
    const r = await get(flag, '/named', [`x-name: café ${protocol}`]);
    assert.equal(r.headers['x-route'], utf8('menü'));
    const line = utf8(`menü café ${protocol}`);
    assert.equal(await logLineStartingWith(accessLog, line), line);
  });
}

test('/config_dump shows the config as written, not as the bytes it sends', async () => {
  const dump = await proxy.get('/config_dump');
  assert.equal(dump.status, 200);
  for (const text of ['café €', 'naïve-[0-9]+', 'bücher.example', '/über']) assert.ok(dump.body.includes(JSON.stringify(text)), text);
});

test('a header regex with a non-ASCII character in a class is refused: on wire bytes it would match single bytes', async () => {
  const refused = { match: { prefix: '/m', headers: [{ name: 'x-name', stringMatch: { safeRegex: { regex: 'caf[éè]' } } }] }, directResponse: { status: 200, body: { inlineString: 'class' } } };
  proxy.reload(config(routes([refused])));
  await proxy.waitForLog(/headers\[0\]\.stringMatch\.safeRegex\.regex: a character class cannot hold the non-ASCII \\"é\\"/);
  assert.equal((await get('--http1.1', '/m', ['x-name: café'])).body, 'exact', 'the last good config still serves');
});
