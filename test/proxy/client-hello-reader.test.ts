/**
 * The ClientHello reader on hostile and fragmented input: real hellos (from node's TLS client) cut
 * into records of every size and read in pieces, and the shapes an attacker can send. It answers
 * 'incomplete' only while a whole hello may still come within 64 KiB, never throws, and keeps the
 * bytes exactly as received.
 */
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { before, test } from 'node:test';
import { ClientHelloReader, MAX_CLIENT_HELLO_BYTES, readClientHello, type ClientHelloResult } from '../../src/proxy/listeners/client-hello.js';
import { mutate, seededRandom } from '../support/byte-mutation.js';
import { captureClientHello, refragmentHandshake, tlsRecords, wireRecords } from '../support/tls-records.js';

const HANDSHAKE = 0x16;
const longAlpn = Array.from({ length: 100 }, (_, i) => `proto-${i}-`.padEnd(200, 'p'));
let hello: Buffer;
let bigHello: Buffer;

function nodeHello(options: tls.ConnectionOptions): Promise<Buffer> {
  return captureClientHello((port) => tls.connect({ host: '127.0.0.1', port, ...options }).on('error', () => undefined));
}

before(async () => {
  hello = await nodeHello({ servername: 'Api.Example.com', ALPNProtocols: ['h2', 'http/1.1'] });
  bigHello = await nodeHello({ servername: 'big.example.com', ALPNProtocols: [...longAlpn, 'http/1.1'] });
});

/** The handshake message (the ClientHello with its 4-byte header) the records of `bytes` carry. */
function message(bytes: Buffer): Buffer {
  return Buffer.concat(wireRecords(bytes).map((r) => r.payload));
}

/** Feeds `bytes` to one reader in pieces of `piece` bytes; every answer, in order. */
function readInPieces(bytes: Buffer, piece: number): { answers: ClientHelloResult[]; received: Buffer } {
  const reader = new ClientHelloReader();
  const answers: ClientHelloResult[] = [];
  for (let p = 0; p < bytes.length; p += piece) answers.push(reader.push(bytes.subarray(p, p + piece)));
  return { answers, received: reader.received };
}

const offered = { serverName: 'api.example.com', alpn: ['h2', 'http/1.1'] };

test('a hello cut into records of any size and read in any pieces gives the same name and protocols, and the bytes as received', () => {
  for (const size of [1, 2, 3, 4, 5, 7, 64, 511, 16_384]) {
    const cut = refragmentHandshake(hello, size);
    for (const piece of [1, 6, 13, 4096]) {
      const { answers, received } = readInPieces(cut, piece);
      assert.deepEqual(answers.at(-1), offered, `records of ${size}, reads of ${piece}`);
      assert.ok(answers.slice(0, -1).every((a) => a === 'incomplete'), `records of ${size}, reads of ${piece}: incomplete until the last byte`);
      assert.ok(received.equals(cut), `records of ${size}, reads of ${piece}: bytes kept as received`);
    }
  }
});

test('a hello over 16 KiB, in the records node sends it in and re-cut into small ones, gives every protocol', () => {
  assert.ok(message(bigHello).length > 16_384 && wireRecords(bigHello).length >= 2, 'spans records');
  const want = { serverName: 'big.example.com', alpn: [...longAlpn, 'http/1.1'] };
  assert.deepEqual(readClientHello(bigHello), want);
  assert.deepEqual(readInPieces(refragmentHandshake(bigHello, 512), 1000).answers.at(-1), want);
});

test('every truncation of a fragmented hello is incomplete, never malformed', () => {
  const cut = refragmentHandshake(hello, 7);
  for (let n = 1; n < cut.length; n++) assert.equal(readClientHello(cut.subarray(0, n)), 'incomplete', `first ${n} of ${cut.length} bytes`);
});

test('a record of another content type, or another record version, before the hello ends is malformed', () => {
  const body = message(hello);
  for (const type of [0x14, 0x15, 0x17, 0x18, 0x00]) {
    const interleaved = Buffer.concat([tlsRecords(HANDSHAKE, body.subarray(0, 40)), tlsRecords(type, Buffer.from([1])), tlsRecords(HANDSHAKE, body.subarray(40))]);
    assert.equal(readClientHello(interleaved), 'malformed', `content type ${type}`);
  }
  const otherVersion = Buffer.concat([tlsRecords(HANDSHAKE, body.subarray(0, 40)), tlsRecords(HANDSHAKE, body.subarray(40))]);
  otherVersion[5 + 40 + 1] = 2;
  assert.equal(readClientHello(otherVersion), 'malformed');
});

test('records after a whole hello (change_cipher_spec, early data) do not change the answer', () => {
  const after = Buffer.concat([refragmentHandshake(hello, 100), tlsRecords(0x14, Buffer.from([1])), tlsRecords(0x17, Buffer.alloc(300))]);
  assert.deepEqual(readClientHello(after), offered);
});

test('zero-length handshake records are malformed (RFC 8446 §5.1), first or between fragments', () => {
  const body = message(hello);
  assert.equal(readClientHello(Buffer.concat([tlsRecords(HANDSHAKE, Buffer.alloc(0)), tlsRecords(HANDSHAKE, body)])), 'malformed');
  assert.equal(readClientHello(Buffer.concat([tlsRecords(HANDSHAKE, body.subarray(0, 2)), tlsRecords(HANDSHAKE, Buffer.alloc(0)), tlsRecords(HANDSHAKE, body.subarray(2))])), 'malformed');
});

test('a hello that declares more than 64 KiB is too large as soon as its length is in', () => {
  for (const length of [MAX_CLIENT_HELLO_BYTES - 3, 70_000, 0xffffff]) {
    const header = Buffer.from([1, length >> 16, (length >> 8) & 0xff, length & 0xff]);
    assert.equal(readClientHello(tlsRecords(HANDSHAKE, header)), 'too-large', `declared ${length}`);
    // Its length cut over two records.
    assert.equal(readClientHello(tlsRecords(HANDSHAKE, header.subarray(0, 2), header.subarray(2))), 'too-large', `declared ${length}, split`);
  }
});

test('records that lie about their length wait for the bytes only while they fit in 64 KiB', () => {
  const body = message(hello);
  const claims = (length: number, payload: Buffer) => Buffer.concat([Buffer.from([HANDSHAKE, 3, 1, length >> 8, length & 0xff]), payload]);
  assert.equal(readClientHello(claims(body.length + 1000, body)), 'incomplete', 'a record longer than what came: wait');
  assert.equal(readClientHello(claims(0xffff, body)), 'malformed', 'longer than any record may be');
  // A hello that declares 60 000 bytes but comes in 1-byte records needs more than 64 KiB on the wire.
  const head = Buffer.from([1, 0, 0xea, 0x60]);
  const tiny = Buffer.concat([...head, ...Buffer.alloc(60_000, 0x41)].map((b) => tlsRecords(HANDSHAKE, Buffer.of(b))));
  const { answers } = readInPieces(tiny, 4096);
  const limitAt = answers.indexOf('too-large');
  assert.ok(limitAt > 0 && answers.slice(0, limitAt).every((a) => a === 'incomplete'), 'incomplete, then too large');
  assert.ok(limitAt * 4096 <= MAX_CLIENT_HELLO_BYTES, `too large by the first ${(limitAt + 1) * 4096} bytes`);
});

test('mutated fragmented hellos never throw, and read in pieces give the answer they give whole', () => {
  const rand = seededRandom(0x5eed);
  const allowed = new Set(['incomplete', 'malformed', 'too-large', 'not-tls']);
  const seeds = [refragmentHandshake(hello, 16), refragmentHandshake(hello, 200), hello];
  for (let i = 0; i < 3000; i++) {
    const input = mutate(seeds[i % seeds.length]!, rand);
    const whole = readClientHello(input);
    assert.ok(typeof whole === 'object' || allowed.has(whole), `case ${i}: ${String(whole)}`);
    const piece = 1 + Math.floor(rand() * 64);
    assert.deepEqual(readInPieces(input, piece).answers.at(-1) ?? 'incomplete', whole, `case ${i}, pieces of ${piece}`);
  }
});
