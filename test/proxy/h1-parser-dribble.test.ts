/**
 * A head that arrives a few bytes per read (a slow or hostile client) costs work in proportion to its
 * size: each read's bytes are searched and copied once, not the whole partial head again per read.
 * Before, a 58 KiB head sent one byte per read was searched ~1.7 GB over, about 0.6 s of CPU.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { H1Parser, HttpParseError, type H1Head } from '../../src/proxy/http/h1-parser.js';

function parser(): { p: H1Parser; heads: H1Head[] } {
  const heads: H1Head[] = [];
  const p = new H1Parser('request', { maxHeaderBytes: 64 * 1024, maxHeaders: 1000 }, { onHead: (h) => heads.push(h), onBody: () => undefined, onMessageComplete: () => undefined });
  return { p, heads };
}

function bigHead(): Buffer {
  let head = 'GET /dribble HTTP/1.1\r\nHost: a\r\n';
  while (head.length < 58 * 1024) head += `x-field-${head.length}: ${'v'.repeat(80)}\r\n`;
  return Buffer.from(`${head}\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n`, 'latin1');
}

/** Bytes Buffer#indexOf looked through while `run` ran (the head-end and line-feed searches use it). */
function bytesSearched(run: () => void): number {
  const original = Buffer.prototype.indexOf;
  let searched = 0;
  Buffer.prototype.indexOf = function (this: Buffer, value: never, from?: never, encoding?: never): number {
    searched += this.length - (typeof from === 'number' ? from : 0);
    return original.call(this, value, from, encoding);
  };
  try {
    run();
  } finally {
    Buffer.prototype.indexOf = original;
  }
  return searched;
}

test('a 58 KiB head sent one byte per read is parsed as sent at once, searched in proportion to its size', () => {
  const bytes = bigHead();
  const { p, heads } = parser();
  const searched = bytesSearched(() => {
    for (let i = 0; i < bytes.length; i++) p.execute(bytes.subarray(i, i + 1));
  });
  const whole = parser();
  whole.p.execute(bytes);
  assert.deepEqual(heads, whole.heads);
  assert.deepEqual(
    heads.map((h) => h.target),
    ['/dribble', '/next'],
  );
  assert.ok(searched < 10 * bytes.length, `searched ${searched} bytes for a ${bytes.length}-byte input`);
});

test('a head end or a bare LF split across reads is found wherever the reads cut', () => {
  const good = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n', 'latin1');
  const bareLf = Buffer.from('GET / HTTP/1.1\r\nHost: a\nX-A: 1\r\n\r\n', 'latin1');
  for (let cut = 1; cut < good.length; cut++) {
    const { p, heads } = parser();
    p.execute(good.subarray(0, cut));
    p.execute(good.subarray(cut));
    assert.equal(heads.length, 1, `cut at ${cut}`);
  }
  for (let cut = 1; cut < bareLf.length; cut++) {
    const { p } = parser();
    assert.throws(
      () => {
        p.execute(bareLf.subarray(0, cut));
        p.execute(bareLf.subarray(cut));
      },
      (err: unknown) => err instanceof HttpParseError && err.status === 400,
      `cut at ${cut}`,
    );
  }
});
