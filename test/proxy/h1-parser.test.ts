import assert from 'node:assert/strict';
import { test } from 'node:test';
import { H1Parser, HttpParseError, type H1Head } from '../../src/proxy/http/h1-parser.js';

interface Captured {
  heads: H1Head[];
  bodies: string[];
  completes: Array<string[] | undefined>;
}

function parser(kind: 'request' | 'response', limits = { maxHeaderBytes: 8192, maxHeaders: 100 }): { p: H1Parser; c: Captured } {
  const c: Captured = { heads: [], bodies: [], completes: [] };
  let body = '';
  const p = new H1Parser(kind, limits, {
    onHead: (h) => c.heads.push(h),
    onBody: (b) => {
      body += b.toString('latin1');
    },
    onMessageComplete: (t) => {
      c.bodies.push(body);
      body = '';
      c.completes.push(t);
    },
  });
  return { p, c };
}

function rejects(raw: string, status: number, kind: 'request' | 'response' = 'request'): HttpParseError {
  const { p } = parser(kind);
  try {
    p.execute(Buffer.from(raw, 'latin1'));
  } catch (err) {
    assert.ok(err instanceof HttpParseError, `expected HttpParseError, got ${String(err)}`);
    assert.equal(err.status, status, err.reason);
    return err;
  }
  assert.fail(`accepted: ${JSON.stringify(raw)}`);
}

test('a simple GET yields its method, target, lower-cased headers and no body', () => {
  const { p, c } = parser('request');
  p.execute(Buffer.from('GET /a?b=1 HTTP/1.1\r\nHost: Example.com\r\nX-Thing:  v  \r\n\r\n'));
  assert.equal(c.heads.length, 1);
  const h = c.heads[0]!;
  assert.equal(h.method, 'GET');
  assert.equal(h.target, '/a?b=1');
  assert.deepEqual(h.headers, ['host', 'Example.com', 'x-thing', 'v']);
  assert.equal(h.contentLength, -1);
  assert.equal(c.completes.length, 1);
});

test('a head split across many reads is parsed once complete', () => {
  const { p, c } = parser('request');
  const raw = 'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello';
  for (const ch of raw) p.execute(Buffer.from(ch));
  assert.equal(c.heads.length, 1);
  assert.deepEqual(c.bodies, ['hello']);
});

test('pipelined requests are delivered in order', () => {
  const { p, c } = parser('request');
  p.execute(Buffer.from('GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nPOST /3 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok'));
  assert.deepEqual(
    c.heads.map((h) => h.target),
    ['/1', '/2', '/3'],
  );
  assert.deepEqual(c.bodies, ['', '', 'ok']);
});

test('pause keeps the following request until resume', () => {
  const c: string[] = [];
  const p: H1Parser = new H1Parser('request', { maxHeaderBytes: 8192, maxHeaders: 100 }, {
    onHead: (h) => c.push(h.target),
    onBody: () => undefined,
    onMessageComplete: () => p.pause(),
  });
  p.execute(Buffer.from('GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n'));
  assert.deepEqual(c, ['/1']);
  p.resume();
  assert.deepEqual(c, ['/1', '/2']);
});

test('chunked bodies are decoded, extensions ignored and trailers returned', () => {
  const { p, c } = parser('request');
  p.execute(Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 9\r\n\r\n'));
  assert.deepEqual(c.bodies, ['hello world']);
  assert.deepEqual(c.completes[0], ['x-sum', '9']);
  assert.equal(c.heads[0]!.chunked, true);
});

test('Content-Length together with Transfer-Encoding is refused (smuggling)', () => {
  rejects('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400);
});

test('duplicate Content-Length is refused, even with equal values', () => {
  rejects('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd', 400);
});

test('invalid Content-Length values are refused', () => {
  for (const v of ['-1', '1e3', '0x10', '4 4', '+4', '', '12345678901234567890']) {
    rejects(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${v}\r\n\r\n`, 400);
  }
});

test('obs-fold (a header line starting with whitespace) is refused', () => {
  rejects('GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  continued\r\n\r\n', 400);
});

test('whitespace between a field name and the colon is refused', () => {
  rejects('GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n', 400);
});

test('a bare LF line ending is refused', () => {
  rejects('GET / HTTP/1.1\nHost: a\r\n\r\n', 400);
  rejects('GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n', 400);
});

test('Transfer-Encoding other than chunked last is refused in a request', () => {
  rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n', 400);
  rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', 400);
  rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', 400);
  rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n', 400);
  // Only SP and HTAB are whitespace around a coding: NBSP (0xA0) is a byte of the value.
  rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\xa0\r\n\r\n', 400);
  rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \xa0chunked\r\n\r\n', 400);
});

test('a request framed by chunked under a coding the proxy does not decode is 501 Not Implemented (RFC 9112 §6.1)', () => {
  // Chunked last, but the body would still be gzip-coded after de-chunking.
  rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501);
  rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n', 501);
});

test('a response under a transfer coding other than chunked is refused (502), identity reads until close', () => {
  for (const te of ['gzip', 'gzip, chunked', 'deflate']) {
    const { p } = parser('response');
    assert.throws(() => p.execute(Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${te}\r\n\r\n`)), (err: unknown) => err instanceof HttpParseError && err.status === 502);
  }
  const { p, c } = parser('response');
  p.execute(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nuntil close'));
  p.finish();
  assert.equal(c.heads[0]!.bodyUntilClose, true);
  assert.deepEqual(c.bodies, ['until close']);
});

test('Transfer-Encoding in an HTTP/1.0 request is refused', () => {
  rejects('POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400);
});

test('control characters in header values and targets are refused', () => {
  rejects('GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n', 400);
  rejects('GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n', 400);
  rejects('GET /a b HTTP/1.1\r\nHost: a\r\n\r\n', 400);
});

test('malformed chunk sizes and missing chunk CRLF are refused', () => {
  rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400);
  rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n', 400);
  rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n', 400);
});

test('an oversized head gets 431 and too many headers get 431', () => {
  const big = 'GET / HTTP/1.1\r\nHost: a\r\nX: ' + 'a'.repeat(9000) + '\r\n\r\n';
  rejects(big, 431);
  const { p } = parser('request', { maxHeaderBytes: 8192, maxHeaders: 3 });
  assert.throws(() => p.execute(Buffer.from('GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n')), (e: HttpParseError) => e.status === 431);
});

test('an oversized head is refused before its end arrives', () => {
  const { p } = parser('request');
  assert.throws(() => p.execute(Buffer.from('GET / HTTP/1.1\r\nX: ' + 'a'.repeat(9000))), (e: HttpParseError) => e.status === 431);
});

test('unsupported HTTP versions get 505, garbage gets 400', () => {
  rejects('GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505);
  rejects('GET / HTTP/1.1x\r\nHost: a\r\n\r\n', 400);
  rejects('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n', 400);
});

test('a higher HTTP/1 minor version is read as HTTP/1.1, in requests and responses (RFC 9110 §2.5)', () => {
  let { p, c } = parser('request');
  p.execute(Buffer.from('GET / HTTP/1.2\r\nHost: a\r\n\r\n'));
  assert.equal(c.heads[0]!.versionMinor, 1);
  assert.equal(c.heads[0]!.connectionClose, false);
  ({ p, c } = parser('response'));
  p.execute(Buffer.from('HTTP/1.9 200 OK\r\nContent-Length: 2\r\n\r\nhi'));
  assert.equal(c.heads[0]!.versionMinor, 1);
  assert.deepEqual(c.bodies, ['hi']);
});

test('Connection: close and HTTP/1.0 keep-alive semantics are reported', () => {
  const { p, c } = parser('request');
  p.execute(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'));
  assert.deepEqual(
    c.heads.map((h) => h.connectionClose),
    [true, true, false],
  );
});

test('an Upgrade request is flagged', () => {
  const { p, c } = parser('request');
  p.execute(Buffer.from('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'));
  assert.equal(c.heads[0]!.upgrade, true);
});

test('responses: length, chunked, no body for 204/304/HEAD, and read-until-close', () => {
  let { p, c } = parser('response');
  p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n'));
  assert.deepEqual(c.bodies, ['abc', '', 'hi']);
  ({ p, c } = parser('response'));
  p.expectNoBody = true;
  p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'));
  assert.deepEqual(c.bodies, ['']);
  ({ p, c } = parser('response'));
  p.execute(Buffer.from('HTTP/1.0 200 OK\r\n\r\nstreamed'));
  assert.equal(c.completes.length, 0);
  p.finish();
  assert.deepEqual(c.bodies, ['streamed']);
});

test('interim (1xx) responses before the final one to a HEAD leave that one bodiless', () => {
  const { p, c } = parser('response');
  p.expectNoBody = true;
  p.execute(Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'));
  assert.deepEqual(c.heads.map((h) => h.statusCode), [100, 103, 200]);
  assert.deepEqual(c.bodies, ['', '', '']);
  assert.ok(p.isIdle());
});

test('a malformed upstream status line is a 502', () => {
  rejects('HTTP/1.1 2x0 OK\r\n\r\n', 502, 'response');
  rejects('SIP/2.0 200 OK\r\n\r\n', 502, 'response');
});

test('a truncated body is reported when the peer closes', () => {
  const { p } = parser('request');
  p.execute(Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc'));
  assert.throws(() => p.finish(), HttpParseError);
});

test('bytes past the given length are never parsed, delivered or kept (a read slab tail)', () => {
  // Each read hands the parser a slab tail and the length that was read; what follows is stale.
  const stale = '\r\nX-Stale: 1\r\n\r\nHTTP-ish garbage\n0\r\n\r\n';
  const pieces = ['POST /p HTTP/1.1\r\nHost: x\r\n', 'Transfer-Encoding: chunked\r\n\r\n5\r', '\nhello\r\n0\r\n', '\r\n'];
  const { p, c } = parser('request');
  for (const piece of pieces) p.execute(Buffer.from(piece + stale, 'latin1'), piece.length);
  assert.equal(c.heads.length, 1);
  assert.deepEqual(c.heads[0]!.headers, ['host', 'x', 'transfer-encoding', 'chunked']);
  assert.deepEqual(c.bodies, ['hello']);

  const r = parser('response');
  const head = 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil';
  r.p.execute(Buffer.from(head + ' STALE', 'latin1'), head.length);
  r.p.finish();
  assert.deepEqual(r.c.bodies, ['until'], 'a read-until-close body stops at the length too');
});

test('values, targets and trailers are exact wherever the head sits in the read: after earlier messages, after blank lines, split across reads', () => {
  const longValue = 'a-value-longer-than-thirteen-characters;\x80\xff obs-text';
  const first = 'GET /first HTTP/1.1\r\nHost: example.test\r\n\r\n';
  const second =
    `\r\nPOST /second/path/that/is/long?q=1 HTTP/1.1\r\nHost: Example.TEST:8080\r\nX-Long:   ${longValue} \t\r\nX-Empty:\r\n` +
    'Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer-Long:  trailer value that is long enough \r\nX-T: 1\r\n\r\n';
  const wire = Buffer.from(first + second, 'latin1');
  // Whole, and split at every offset: the second head is parsed from a concatenation or a tail.
  for (let split = 0; split <= wire.length; split++) {
    const { p, c } = parser('request');
    // Stale bytes past each read's length must not be read (see execute()).
    const a = Buffer.concat([wire.subarray(0, split), Buffer.from('\r\n\r\nGARBAGE')]);
    p.execute(a, split);
    p.execute(wire.subarray(split));
    assert.equal(c.heads.length, 2, `split at ${split}`);
    assert.equal(c.heads[0]!.target, '/first');
    assert.deepEqual(c.heads[0]!.headers, ['host', 'example.test']);
    const h = c.heads[1]!;
    assert.equal(h.method, 'POST');
    assert.equal(h.target, '/second/path/that/is/long?q=1');
    assert.deepEqual(h.headers, ['host', 'Example.TEST:8080', 'x-long', longValue, 'x-empty', '', 'transfer-encoding', 'chunked']);
    assert.deepEqual(c.bodies, ['', 'abc']);
    assert.deepEqual(c.completes[1], ['x-trailer-long', 'trailer value that is long enough', 'x-t', '1']);
  }
});

test('empty lines before a request line are ignored, in one read or split across reads (RFC 9112 §2.2)', () => {
  const { p, c } = parser('request');
  p.execute(Buffer.from('\r\n\r\nGET /a HTTP/1.1\r\nHost: a\r\n\r\n'));
  // A client that ends a POST body with an extra CRLF: the next request still parses.
  p.execute(Buffer.from('\r'));
  p.execute(Buffer.from('\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n'));
  assert.deepEqual(c.heads.map((h) => h.target), ['/a', '/b']);
  assert.ok(p.isIdle());
});

test('chunk extensions are read to RFC 9112 §7.1.1: BWS only before ";", a token name, a token or quoted value', () => {
  for (const line of ['5;a', '5;a=b', '5 ;a = b', '5\t; a\t=\t"b c"', '5;a="q\\"d";c', '5;a;b=1']) {
    const { p, c } = parser('request');
    p.execute(Buffer.from(`POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${line}\r\nhello\r\n0\r\n\r\n`));
    assert.deepEqual(c.bodies, ['hello'], line);
  }
  // Each read differently by some parser: the end of the chunk is not agreed on.
  for (const line of ['5 ', '5\t', '5;', '5;a=', '5;a=b c', '5;a="b', '5;a b', '5;=b', '5;a;', '5;a=b\x00', '5;a=\x7f', '5 x']) {
    rejects(`POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${line}\r\nhello\r\n0\r\n\r\n`, 400);
  }
});

test('Content-Length or Transfer-Encoding in trailers is refused (400 for a request, 502 for a response)', () => {
  for (const field of ['Content-Length: 5', 'Transfer-Encoding: chunked']) {
    rejects(`POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n${field}\r\n\r\n`, 400);
    rejects(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n${field}\r\n\r\n`, 502, 'response');
  }
});

test('a 1xx or 204 response framed as if it had content is a 502; a 304 may say the length a 200 would have', () => {
  rejects('HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello', 502, 'response');
  rejects('HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 502, 'response');
  rejects('HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nhello', 502, 'response');
  const { p, c } = parser('response');
  p.execute(Buffer.from('HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n'));
  assert.deepEqual(c.heads.map((h) => h.statusCode), [204, 304]);
  assert.ok(p.isIdle());
});

test('a status code past 599 is a 502 (RFC 9110 §15)', () => {
  rejects('HTTP/1.1 600 Whatever\r\nContent-Length: 0\r\n\r\n', 502, 'response');
  rejects('HTTP/1.1 999 Whatever\r\nContent-Length: 0\r\n\r\n', 502, 'response');
});

test('an HTTP/1.0 response with Transfer-Encoding closes its connection, keep-alive or not (RFC 9112 §6.1)', () => {
  const { p, c } = parser('response');
  p.execute(Buffer.from('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n'));
  assert.deepEqual(c.bodies, ['hi']);
  assert.equal(c.heads[0]!.connectionClose, true);
});
