/**
 * Differential test of the HTTP/1.1 request parser against Node's llhttp in strict mode (what a
 * node:http server with default options runs: no lenient flags, a 16 KiB head, Host required) and
 * against RFC 9112. Seeded requests are composed from variants of the request line, the Host and
 * other fields, the framing (Content-Length, Transfer-Encoding) and the chunked body, each variant
 * carrying RFC 9112's verdict; some are then mutated byte by byte. Every case goes through both
 * parsers in process, followed by a pipelined request, so a different body length shows as a
 * different next message. What must hold:
 *   - Bulwark accepts what the RFC says must be accepted and refuses what it says must be refused;
 *   - where both parsers accept, they frame the same messages (heads, bodies, trailers, boundaries);
 *   - Bulwark accepts nothing llhttp refuses, beyond the listed places where llhttp is stricter
 *     than the RFC (each with its reason).
 * DIFF_SEED and DIFF_CASES reproduce or lengthen a run; DIFF_REPORT=1 prints every disagreement.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { H1Parser, HttpParseError } from '../../src/proxy/http/h1-parser.js';
import { h1RequestTarget } from '../../src/proxy/http/h1-request-target.js';
import { mutate, seededRandom } from '../support/byte-mutation.js';

const SEED = Number(process.env.DIFF_SEED ?? 20261126);
const CASES = Number(process.env.DIFF_CASES ?? 4000);
const REPORT = process.env.DIFF_REPORT === '1';
/** node:http's default maxHeaderSize. */
const MAX_HEAD = 16 * 1024;

// --- llhttp, as node:http drives it -----------------------------------------------------------

interface LlhttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  /** Bytes parsed, an Error, or nothing (for no bytes). */
  execute(data: Buffer): number | (Error & { code: string; bytesParsed: number }) | undefined;
  free(): void;
  [key: number]: unknown;
}
interface LlhttpBinding {
  new (): LlhttpParser;
  REQUEST: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnExecute: number;
  kLenientNone: number;
}
const { HTTPParser, methods } = createRequire(import.meta.url)('_http_common') as { HTTPParser: LlhttpBinding; methods: string[] };

interface Message {
  method: string;
  target: string;
  versionMinor: number;
  /** Lower-cased names, values as parsed. */
  headers: string[];
  body: string;
  trailers: string[];
  complete: boolean;
}

interface Outcome {
  /** Every message whose head was accepted, the last one possibly incomplete. */
  messages: Message[];
  /** 'error': the parser refused bytes after the last message in `messages` began (or before any). */
  end: 'ok' | 'error';
  error: string;
  /** The parser holds the start of a head it has not judged yet (it waits for the head's end). */
  pending?: boolean;
}

function lowerNames(flat: readonly string[]): string[] {
  return flat.map((v, i) => (i % 2 === 0 ? v.toLowerCase() : v));
}

function runLlhttp(data: Buffer): Outcome {
  const p = new HTTPParser();
  p.initialize(HTTPParser.REQUEST, {}, MAX_HEAD, HTTPParser.kLenientNone);
  const out: Outcome = { messages: [], end: 'ok', error: '' };
  let cur: Message | undefined;
  let pending: string[] = [];
  let closeAfter = false;
  let refusedByServer = '';
  let pendingUrl = '';
  // A long head comes in parts (as node:http's parserOnHeaders collects them).
  p[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
    pending = pending.concat(headers);
    pendingUrl += url;
  };
  p[HTTPParser.kOnHeadersComplete] = (_major: number, minor: number, headers: string[] | undefined, method: number, url: string, _s: unknown, _m: unknown, _upgrade: boolean, keepAlive: boolean) => {
    const all = lowerNames(headers ?? pending);
    url ||= pendingUrl;
    pending = [];
    pendingUrl = '';
    // node:http's requireHostHeader (on by default): an HTTP/1.1 request without Host gets 400.
    if (minor === 1 && !all.some((v, i) => i % 2 === 0 && v === 'host')) refusedByServer ||= 'node:http: missing Host';
    if (refusedByServer) {
      cur = undefined;
      return 0;
    }
    cur = { method: methods[method]!, target: url, versionMinor: minor, headers: all, body: '', trailers: [], complete: false };
    closeAfter = !keepAlive;
    out.messages.push(cur);
    return 0;
  };
  p[HTTPParser.kOnBody] = (b: Buffer) => {
    if (cur) cur.body += b.toString('latin1');
  };
  p[HTTPParser.kOnMessageComplete] = () => {
    if (cur) {
      cur.trailers = lowerNames(pending);
      cur.complete = true;
    }
    pending = [];
    pendingUrl = '';
  };
  p[HTTPParser.kOnExecute] = () => undefined;
  const r = p.execute(data);
  p.free();
  if (refusedByServer) {
    out.end = 'error';
    out.error = refusedByServer;
  } else if (r instanceof Error) {
    // Bytes after a message that closes the connection are never read as a request (as in Bulwark).
    if (!(r.code === 'HPE_CLOSED_CONNECTION' && closeAfter)) {
      out.end = 'error';
      out.error = r.code;
    }
  }
  return out;
}

// --- Bulwark: the parser, then what the downstream connection checks on each head -------------

function runBulwark(data: Buffer, split: number): Outcome {
  const out: Outcome = { messages: [], end: 'ok', error: '' };
  let cur: Message | undefined;
  let closed = false;
  const p: H1Parser = new H1Parser('request', { maxHeaderBytes: MAX_HEAD, maxHeaders: 1000 }, {
    onHead(head) {
      const target = h1RequestTarget(head, '');
      if (typeof target === 'string') throw new HttpParseError(400, target);
      cur = { method: head.method, target: head.target, versionMinor: head.versionMinor, headers: head.headers.slice(), body: '', trailers: [], complete: false };
      out.messages.push(cur);
      if (head.connectionClose) closed = true;
    },
    onBody(chunk) {
      cur!.body += chunk.toString('latin1');
    },
    onMessageComplete(trailers) {
      cur!.trailers = trailers ?? [];
      cur!.complete = true;
      // A connection that closes after this response parses nothing more (H1DownstreamConnection).
      if (closed) p.pause();
    },
  });
  try {
    p.execute(data.subarray(0, split));
    if (!p.isPaused()) p.execute(data.subarray(split));
    out.pending = !p.isPaused() && !p.isIdle() && (cur === undefined || cur.complete);
  } catch (err) {
    assert.ok(err instanceof HttpParseError, `not an HttpParseError: ${String(err)}`);
    assert.ok(err.status >= 400 && err.status < 600, `status ${err.status}`);
    out.end = 'error';
    out.error = `${err.status} ${err.reason}`;
  }
  return out;
}

// --- the cases ---------------------------------------------------------------------------------

/** What RFC 9112 (and RFC 9110) asks of a server receiving the variant. */
type Verdict = 'accept' | 'reject' | 'either';
interface Context {
  method: string;
  minor: number;
}
interface Variant {
  tag: string;
  text: string;
  rfc: Verdict | ((c: Context) => Verdict);
}
const v = (tag: string, text: string, rfc: Variant['rfc']): Variant => ({ tag, text, rfc });

const METHODS = [
  v('GET', 'GET', 'accept'),
  v('POST', 'POST', 'accept'),
  v('PUT', 'PUT', 'accept'),
  v('OPTIONS', 'OPTIONS', 'accept'),
  v('M-SEARCH', 'M-SEARCH', 'accept'),
  // Methods are case-sensitive tokens: an unknown one is still a valid request for a proxy to pass on (RFC 9110 §9.1).
  v('method lowercase', 'get', 'accept'),
  v('method unknown', 'FOO', 'accept'),
  v('method NUL', 'GE\x00T', 'reject'),
  v('method high byte', 'G\xc9T', 'reject'),
  v('method DEL', 'GET\x7f', 'reject'),
  v('method not a token', 'G(T', 'reject'),
  v('method empty', '', 'reject'),
];

const TARGETS = [
  v('origin-form', '/a/b?c=d&e', 'accept'),
  v('root', '/', 'accept'),
  v('pct-encoded', '/%2e%2e/%00x', 'accept'),
  v('double slash', '//x', 'accept'),
  v('absolute-form', 'http://h.test/p?q', 'accept'),
  v('absolute-form upper scheme', 'HTTP://h.test', 'accept'),
  v('absolute-form port', 'http://h.test:8080/p', 'accept'),
  // RFC 9110 §4.2.4: a recipient SHOULD treat userinfo as an error; §4.2.1: an empty host MUST be rejected.
  v('absolute-form userinfo', 'http://u:p@h.test/', 'reject'),
  v('absolute-form empty host', 'http:///p', 'reject'),
  v('absolute-form other scheme', 'ftp://h.test/', 'either'),
  v('asterisk-form', '*', (c) => (c.method === 'OPTIONS' ? 'accept' : 'reject')),
  v('authority-form', 'h.test:443', 'reject'),
  v('target NUL', '/a\x00b', 'reject'),
  v('target DEL', '/\x7f', 'reject'),
  v('target high byte', '/\x80', 'reject'),
  v('target tab', '/a\tb', 'reject'),
  v('target bare CR', '/a\rb', 'reject'),
  v('target space', '/a b', 'reject'),
  // Not URI characters: RFC 9112 §3.2 says SHOULD 400 (or redirect); parsers differ.
  v('target quote', '/a"b', 'either'),
  v('target braces', '/a{b}|^`\\', 'either'),
  v('target fragment', '/a#f', 'either'),
  v('target empty', '', 'reject'),
  v('target long', `/${'x'.repeat(8000)}`, 'accept'),
];

const VERSIONS = [
  v('HTTP/1.1', 'HTTP/1.1', 'accept'),
  v('HTTP/1.0', 'HTTP/1.0', 'accept'),
  v('HTTP/0.9', 'HTTP/0.9', 'reject'),
  v('HTTP/2.0', 'HTTP/2.0', 'reject'),
  v('HTTP/3.0', 'HTTP/3.0', 'reject'),
  // A higher minor version is read as the highest one the recipient knows (RFC 9110 §2.5).
  v('HTTP/1.2', 'HTTP/1.2', 'accept'),
  v('version lowercase', 'http/1.1', 'reject'),
  v('version no dot', 'HTTP/11', 'reject'),
  v('version two-digit', 'HTTP/1.01', 'reject'),
  v('version trailing garbage', 'HTTP/1.1x', 'reject'),
  v('version missing (HTTP/0.9 simple request)', '', 'reject'),
];

/** Separators in the request line: one SP; other whitespace MAY be read as SP (RFC 9112 §3). */
const SEPARATORS = [
  v('separator SP', ' ', 'accept'),
  v('separator two SP', '  ', 'either'),
  v('separator HTAB', '\t', 'either'),
  v('separator VT', '\x0b', 'either'),
  v('separator bare CR', '\r', 'either'),
];

const LINE_ENDS = [v('request line CRLF', '\r\n', 'accept'), v('request line bare LF', '\n', 'either'), v('request line bare CR', '\r', 'reject')];

/** Before the request line: empty lines SHOULD be ignored (RFC 9112 §2.2). */
const LEADING = [
  v('nothing before', '', 'accept'),
  v('CRLF before', '\r\n', 'accept'),
  v('two CRLF before', '\r\n\r\n', 'accept'),
  v('LF before', '\n', 'either'),
  v('SP before', ' ', 'either'),
  v('NUL before', '\x00', 'reject'),
];

/** Host: RFC 9112 §3.2, a server MUST answer 400 to a missing (HTTP/1.1), repeated or invalid Host. */
const HOSTS = [
  v('Host', 'Host: h.test\r\n', 'accept'),
  v('Host port', 'Host: h.test:8080\r\n', 'accept'),
  v('Host IPv6', 'Host: [::1]:8080\r\n', 'accept'),
  v('Host IPv4', 'Host: 127.0.0.1\r\n', 'accept'),
  v('Host empty', 'Host: \r\n', 'accept'),
  v('Host lowercase name', 'host: h.test\r\n', 'accept'),
  v('Host trailing OWS', 'Host: h.test\t\r\n', 'accept'),
  v('Host missing', '', (c) => (c.minor === 1 ? 'reject' : 'accept')),
  v('Host twice, same', 'Host: h.test\r\nHost: h.test\r\n', 'reject'),
  v('Host twice, different', 'Host: h.test\r\nHost: evil.test\r\n', 'reject'),
  v('Host userinfo', 'Host: u@h.test\r\n', 'reject'),
  v('Host bad port', 'Host: h.test:x\r\n', 'reject'),
  v('Host two ports', 'Host: h.test:80:90\r\n', 'reject'),
  v('Host space', 'Host: h test\r\n', 'reject'),
  v('Host path', 'Host: h.test/p\r\n', 'reject'),
  v('Host space before colon', 'Host : h.test\r\n', 'reject'),
  v('Host NUL', 'Host: h\x00\r\n', 'reject'),
];

const FIELDS = [
  v('field', 'X-A: b\r\n', 'accept'),
  v('field no OWS', 'X-A:b\r\n', 'accept'),
  v('field OWS', 'X-A:\t b \t\r\n', 'accept'),
  v('field empty value', 'X-A:\r\n', 'accept'),
  v('field obs-text', 'X-A: \x80\xff\r\n', 'accept'),
  v('field underscore TE look-alike', 'Transfer_Encoding: chunked\r\n', 'accept'),
  v('Connection keep-alive', 'Connection: keep-alive\r\n', 'accept'),
  v('Connection close', 'Connection: close\r\n', 'accept'),
  v('Trailer', 'Trailer: x-t\r\n', 'accept'),
  // RFC 9112 §5.1: whitespace between name and colon MUST get 400.
  v('space before colon', 'X-A : b\r\n', 'reject'),
  v('tab before colon', 'X-A\t: b\r\n', 'reject'),
  v('empty name', ': b\r\n', 'reject'),
  v('name with space', 'X A: b\r\n', 'reject'),
  v('name with quote', 'X"A: b\r\n', 'reject'),
  v('name high byte', 'X\x80: b\r\n', 'reject'),
  v('name without colon', 'X-A b\r\n', 'reject'),
  // RFC 9110 §5.5: CR, LF or NUL in a value: reject, or replace with SP (a proxy would forward changed bytes).
  v('value NUL', 'X-A: a\x00b\r\n', 'reject'),
  v('value bare CR', 'X-A: a\rb\r\n', 'reject'),
  v('value DEL', 'X-A: a\x7fb\r\n', 'reject'),
  v('value control', 'X-A: a\x01b\r\n', 'reject'),
  // RFC 9112 §5.2: obs-fold MUST be refused or replaced with SP; §2.2: a bare LF MAY end a line.
  v('obs-fold', 'X-A: b\r\n c\r\n', 'either'),
  v('obs-fold hiding TE', 'X-A: b\r\n Transfer-Encoding: chunked\r\n', 'either'),
  v('bare LF line end', 'X-A: b\n', 'either'),
  v('huge value', `X-A: ${'v'.repeat(20000)}\r\n`, 'reject'),
];

/** Framing fields and the body they announce ('CHUNKED': a chunked body variant follows). */
interface Framing extends Variant {
  body: string;
}
const f = (tag: string, text: string, body: string, rfc: Variant['rfc']): Framing => ({ tag, text, body, rfc });
const CHUNKED = 'CHUNKED';
/** RFC 9112 §6.1: TE in an HTTP/1.0 message is faulty framing; this proxy refuses it. */
const te = (verdict: Verdict) => (c: Context) => (c.minor === 0 ? 'reject' : verdict);

const FRAMINGS: Framing[] = [
  f('no body', '', '', 'accept'),
  f('CL', 'Content-Length: 5\r\n', 'hello', 'accept'),
  f('CL 0', 'Content-Length: 0\r\n', '', 'accept'),
  f('CL leading zeros', 'Content-Length: 005\r\n', 'hello', 'accept'),
  f('CL no OWS', 'Content-Length:5\r\n', 'hello', 'accept'),
  f('CL OWS', 'Content-Length:  5 \t\r\n', 'hello', 'accept'),
  f('CL lowercase name', 'content-length: 5\r\n', 'hello', 'accept'),
  f('CL plus', 'Content-Length: +5\r\n', 'hello', 'reject'),
  f('CL minus', 'Content-Length: -5\r\n', 'hello', 'reject'),
  f('CL hex', 'Content-Length: 0x5\r\n', 'hello', 'reject'),
  f('CL exponent', 'Content-Length: 5e0\r\n', 'hello', 'reject'),
  f('CL decimal', 'Content-Length: 5.0\r\n', 'hello', 'reject'),
  f('CL inner space', 'Content-Length: 5 5\r\n', 'hello', 'reject'),
  f('CL empty', 'Content-Length: \r\n', 'hello', 'reject'),
  // RFC 9110 §8.6: a list of identical values MAY be taken as one; different ones MUST be refused.
  f('CL list same', 'Content-Length: 5,5\r\n', 'hello', 'either'),
  f('CL list same OWS', 'Content-Length: 5, 5\r\n', 'hello', 'either'),
  f('CL list different', 'Content-Length: 5,6\r\n', 'hello', 'reject'),
  f('CL twice same', 'Content-Length: 5\r\nContent-Length: 5\r\n', 'hello', 'either'),
  f('CL twice different', 'Content-Length: 5\r\nContent-Length: 6\r\n', 'hello', 'reject'),
  f('CL huge', 'Content-Length: 99999999999999999999\r\n', 'hello', 'reject'),
  f('CL 2^64', 'Content-Length: 18446744073709551616\r\n', 'hello', 'reject'),
  f('CL above 2^53', 'Content-Length: 9007199254740993\r\n', 'hello', 'either'),
  f('CL space before colon', 'Content-Length : 5\r\n', 'hello', 'reject'),
  f('CL NUL', 'Content-Length: 5\x00\r\n', 'hello', 'reject'),
  f('TE chunked', 'Transfer-Encoding: chunked\r\n', CHUNKED, te('accept')),
  f('TE CHUNKED uppercase', 'transfer-encoding: CHUNKED\r\n', CHUNKED, te('accept')),
  f('TE OWS', 'Transfer-Encoding:\tchunked \r\n', CHUNKED, te('accept')),
  // RFC 9112 §6.3: in a request, chunked not last (or absent) MUST get 400; chunked MUST NOT be applied twice.
  f('TE chunked, identity', 'Transfer-Encoding: chunked, identity\r\n', CHUNKED, 'reject'),
  f('TE identity', 'Transfer-Encoding: identity\r\n', CHUNKED, 'reject'),
  f('TE gzip', 'Transfer-Encoding: gzip\r\n', CHUNKED, 'reject'),
  f('TE xchunked', 'Transfer-Encoding: xchunked\r\n', CHUNKED, 'reject'),
  f('TE chunkedx', 'Transfer-Encoding: chunkedx\r\n', CHUNKED, 'reject'),
  f('TE quoted', 'Transfer-Encoding: "chunked"\r\n', CHUNKED, 'reject'),
  f('TE VT', 'Transfer-Encoding: chunked\x0b\r\n', CHUNKED, 'reject'),
  f('TE empty', 'Transfer-Encoding: \r\n', CHUNKED, 'reject'),
  f('TE chunked twice (two lines)', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', CHUNKED, 'reject'),
  f('TE chunked, chunked', 'Transfer-Encoding: chunked, chunked\r\n', CHUNKED, 'reject'),
  // Valid codings this proxy does not decode (it answers 501 rather than forward a coded body unframed).
  f('TE gzip, chunked', 'Transfer-Encoding: gzip, chunked\r\n', CHUNKED, te('either')),
  f('TE parameter', 'Transfer-Encoding: chunked;q=1\r\n', CHUNKED, te('either')),
  // RFC 9110 §5.6.1 asks recipients to ignore empty list elements; refusing them is the safe deviation.
  f('TE empty element', 'Transfer-Encoding: ,chunked\r\n', CHUNKED, te('either')),
  f('TE trailing comma', 'Transfer-Encoding: chunked,\r\n', CHUNKED, te('either')),
  // RFC 9112 §6.1: a server MAY refuse CL with TE (this one does), and MUST close the connection either way.
  f('TE and CL', 'Transfer-Encoding: chunked\r\nContent-Length: 4\r\n', CHUNKED, 'reject'),
  f('CL and TE', 'Content-Length: 30\r\nTransfer-Encoding: chunked\r\n', CHUNKED, 'reject'),
  f('TE space before colon', 'Transfer-Encoding : chunked\r\n', CHUNKED, 'reject'),
  f('TE obs-fold', 'Transfer-Encoding:\r\n chunked\r\n', CHUNKED, 'either'),
  f('TE bare LF', 'Transfer-Encoding: chunked\n', CHUNKED, 'either'),
];

/** chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF (RFC 9112 §7.1). */
const CHUNK_BODIES = [
  v('chunks', '5\r\nhello\r\n0\r\n\r\n', 'accept'),
  v('two chunks', '2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n', 'accept'),
  v('hex size', 'a\r\nhelloworld\r\nA\r\nHELLOWORLD\r\n0\r\n\r\n', 'accept'),
  v('leading zeros', '0005\r\nhello\r\n000\r\n\r\n', 'accept'),
  v('ext', '5;a=b\r\nhello\r\n0;c\r\n\r\n', 'accept'),
  v('ext quoted', '5;a="b c"\r\nhello\r\n0\r\n\r\n', 'accept'),
  v('ext BWS', '5 ;a = b\r\nhello\r\n0\r\n\r\n', 'accept'),
  v('ext empty name', '5;\r\nhello\r\n0\r\n\r\n', 'reject'),
  v('ext space in value', '5;a=b c\r\nhello\r\n0\r\n\r\n', 'reject'),
  v('ext empty value', '5;a=\r\nhello\r\n0\r\n\r\n', 'reject'),
  v('ext open quote', '5;a="b\r\nhello\r\n0\r\n\r\n', 'reject'),
  v('ext NUL', '5;a=b\x00\r\nhello\r\n0\r\n\r\n', 'reject'),
  v('size trailing SP', '5 \r\nhello\r\n0\r\n\r\n', 'reject'),
  v('size leading SP', ' 5\r\nhello\r\n0\r\n\r\n', 'reject'),
  v('size 0x', '0x5\r\nhello\r\n0\r\n\r\n', 'reject'),
  v('size plus', '+5\r\nhello\r\n0\r\n\r\n', 'reject'),
  v('size minus', '-5\r\nhello\r\n0\r\n\r\n', 'reject'),
  v('size not hex', 'g\r\nhello\r\n0\r\n\r\n', 'reject'),
  v('size empty', '\r\nhello\r\n0\r\n\r\n', 'reject'),
  v('size overflow', '1ffffffffffffffff\r\nhello\r\n0\r\n\r\n', 'reject'),
  v('size overflow to 5', '10000000000000005\r\nhello\r\n0\r\n\r\n', 'reject'),
  v('size above 2^53', '7fffffffffffffff\r\nhello\r\n0\r\n\r\n', 'either'),
  v('size bare LF', '5\nhello\r\n0\r\n\r\n', 'reject'),
  v('size bare CR', '5\rhello\r\n0\r\n\r\n', 'reject'),
  v('data too long', '3\r\nhello\r\n0\r\n\r\n', 'reject'),
  v('data no CRLF', '5\r\nhello0\r\n\r\n', 'reject'),
  v('data bare LF', '5\r\nhello\n0\r\n\r\n', 'reject'),
  v('data bare CR', '5\r\nhello\r0\r\n\r\n', 'reject'),
  v('last chunk bare LF', '5\r\nhello\r\n0\n\r\n', 'reject'),
  v('end bare LF', '5\r\nhello\r\n0\r\n\n', 'reject'),
  v('trailer', '5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n', 'accept'),
  v('trailers', '0\r\nX-T: 1\r\nX-U: 2\r\n\r\n', 'accept'),
  // RFC 9110 §6.5.1: framing fields in trailers are never framing; refusing them matches llhttp.
  v('trailer Content-Length', '5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n', 'either'),
  v('trailer Transfer-Encoding', '5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n', 'either'),
  v('trailer Host', '5\r\nhello\r\n0\r\nHost: evil.test\r\n\r\n', 'either'),
  v('trailer space before colon', '0\r\nX-T : 1\r\n\r\n', 'reject'),
  v('trailer obs-fold', '0\r\nX-T: 1\r\n 2\r\n\r\n', 'either'),
  v('trailer no colon', '0\r\nX-T\r\n\r\n', 'reject'),
  v('trailer NUL', '0\r\nX-T: a\x00\r\n\r\n', 'reject'),
  v('trailer bare LF', '0\r\nX-T: 1\n\r\n', 'either'),
];

/** What follows the message: nothing, or a pipelined request that shows where each parser thinks the next message starts. */
const TAILS = ['', 'GET /next HTTP/1.1\r\nHost: b\r\n\r\n', '\r\nGET /next HTTP/1.1\r\nHost: b\r\n\r\n', 'POST /next2 HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nabc'];

interface Case {
  tags: string[];
  /** The RFC's verdict on the first message; undefined for byte-mutated cases. */
  rfc: Verdict | undefined;
  data: Buffer;
}

function combine(verdicts: Verdict[]): Verdict {
  if (verdicts.includes('reject')) return 'reject';
  return verdicts.includes('either') ? 'either' : 'accept';
}

/** Mostly well-formed choices, so each case has one or two odd parts rather than ten. */
function pick<T extends Variant>(list: readonly T[], rand: () => number, plain = 0.5): T {
  return rand() < plain ? list[0]! : list[Math.floor(rand() * list.length)]!;
}

function composeCase(rand: () => number): Case {
  const method = pick(METHODS, rand, 0.4);
  const target = pick(TARGETS, rand);
  const version = pick(VERSIONS, rand, 0.6);
  const sep1 = pick(SEPARATORS, rand, 0.85);
  const sep2 = pick(SEPARATORS, rand, 0.85);
  const eol = pick(LINE_ENDS, rand, 0.9);
  const leading = pick(LEADING, rand, 0.8);
  const host = pick(HOSTS, rand, 0.5);
  const fields = [pick(FIELDS, rand, 0.5), ...(rand() < 0.3 ? [pick(FIELDS, rand, 0.3)] : [])];
  const framing = pick(FRAMINGS, rand, 0.1);
  const chunks = framing.body === CHUNKED ? [pick(CHUNK_BODIES, rand, 0.4)] : [];
  const parts: Variant[] = [method, target, version, sep1, sep2, eol, leading, host, ...fields, framing, ...chunks];
  const minor = version.text === 'HTTP/1.0' ? 0 : 1;
  const ctx: Context = { method: method.text, minor };
  // Host first or after the other fields: where a field sits must not matter.
  const headerLines = rand() < 0.5 ? [host.text, ...fields.map((x) => x.text), framing.text] : [...fields.map((x) => x.text), framing.text, host.text];
  const body = framing.body === CHUNKED ? chunks[0]!.text : framing.body;
  const tail = TAILS[Math.floor(rand() * TAILS.length)]!;
  const text = `${leading.text}${method.text}${sep1.text}${target.text}${version.text === '' ? '' : sep2.text}${version.text}${eol.text}${headerLines.join('')}\r\n${body}${tail}`;
  return {
    tags: parts.map((p) => p.tag),
    rfc: combine(parts.map((p) => (typeof p.rfc === 'function' ? p.rfc(ctx) : p.rfc))),
    data: Buffer.from(text, 'latin1'),
  };
}

function* cases(rand: () => number): Generator<Case> {
  for (let i = 0; i < CASES; i++) {
    const c = composeCase(rand);
    // A quarter are mutated at the byte level: no verdict, only the comparison with llhttp.
    if (i % 4 === 3) yield { tags: ['mutated', ...c.tags], rfc: undefined, data: mutate(c.data, rand) };
    else yield c;
  }
}

// --- comparison --------------------------------------------------------------------------------

type Disagreement = 'accepts-what-llhttp-refuses' | 'framing-differs' | 'refuses-what-llhttp-accepts' | 'waits-where-llhttp-refuses';

function sameHead(a: Message, b: Message): boolean {
  return a.method === b.method && a.target === b.target && a.versionMinor === b.versionMinor && a.headers.join('\n') === b.headers.join('\n');
}

/** How Bulwark's outcome differs from llhttp's, or undefined when they agree. */
function compare(bw: Outcome, ll: Outcome): Disagreement | undefined {
  const n = Math.max(bw.messages.length, ll.messages.length);
  for (let i = 0; i < n; i++) {
    const a = bw.messages[i];
    const b = ll.messages[i];
    if (a && b) {
      if (!sameHead(a, b)) return 'framing-differs';
      if (a.complete && b.complete) {
        if (a.body !== b.body || a.trailers.join('\n') !== b.trailers.join('\n')) return 'framing-differs';
        continue;
      }
      // One refused the body the other took (or is still taking): fine as far as both read the same bytes.
      const lastA = i === bw.messages.length - 1;
      const lastB = i === ll.messages.length - 1;
      if (!a.complete && !b.complete && lastA && lastB) continue;
      if (!b.complete && lastB && ll.end === 'error' && a.body.startsWith(b.body)) return 'accepts-what-llhttp-refuses';
      if (!a.complete && lastA && bw.end === 'error' && b.body.startsWith(a.body)) return 'refuses-what-llhttp-accepts';
      return 'framing-differs';
    }
    if (a) return ll.end === 'error' ? 'accepts-what-llhttp-refuses' : 'framing-differs';
    return bw.end === 'error' ? 'refuses-what-llhttp-accepts' : 'framing-differs';
  }
  if (bw.end === ll.end) return undefined;
  if (bw.end === 'error') return 'refuses-what-llhttp-accepts';
  // Bulwark judges a head once it has all of it: bytes llhttp refused as they came are still unjudged.
  return bw.pending ? 'waits-where-llhttp-refuses' : 'accepts-what-llhttp-refuses';
}

/**
 * Where llhttp refuses what RFC 9110/9112 allows and Bulwark follows the RFC: the llhttp error, and
 * what in the message Bulwark accepted shows it is that case. Nothing else may be accepted by Bulwark
 * and refused by llhttp.
 */
const LLHTTP_STRICTER: Array<{ code: string; why: string; applies(m: Message, raw: string): boolean }> = [
  {
    code: 'HPE_INVALID_METHOD',
    why: 'llhttp knows a fixed list of methods; a method is any token (RFC 9110 §9.1), and a proxy passes unknown ones on',
    applies: (m) => !methods.includes(m.method),
  },
  {
    code: 'HPE_INVALID_CONTENT_LENGTH',
    why: 'llhttp refuses HTAB after the digits; it is OWS around a field value (RFC 9110 §5.5)',
    applies: (_m, raw) => /content-length:[ \t]*[0-9]+ *\t[ \t]*\r\n/i.test(raw),
  },
  {
    code: 'HPE_INVALID_VERSION',
    why: 'llhttp refuses an HTTP/1 minor version above 1; a recipient reads it as the highest it knows (RFC 9110 §2.5)',
    applies: (_m, raw) => /^(\r\n)*[!-~]+ [!-~]+ HTTP\/1\.[2-9]\r\n/.test(raw),
  },
  {
    code: 'HPE_INVALID_CHUNK_SIZE',
    why: 'llhttp refuses whitespace before a chunk extension; the grammar allows BWS there (RFC 9112 §7.1.1)',
    applies: (_m, raw) => /\r\n[0-9a-fA-F]+[ \t]+;/.test(raw),
  },
];

/** The message llhttp refused (the first it has no complete record of), as Bulwark parsed it. */
function refusedMessage(bw: Outcome, ll: Outcome): Message | undefined {
  const i = ll.messages.length > 0 && !ll.messages[ll.messages.length - 1]!.complete ? ll.messages.length - 1 : ll.messages.length;
  return bw.messages[i];
}

/** The place llhttp is stricter than the RFC that explains why it refused what Bulwark accepted, if any. */
function explanation(c: Case, bw: Outcome, ll: Outcome): (typeof LLHTTP_STRICTER)[number] | undefined {
  const m = refusedMessage(bw, ll);
  const raw = c.data.toString('latin1');
  return m === undefined ? undefined : LLHTTP_STRICTER.find((e) => ll.error === e.code && e.applies(m, raw));
}

function show(c: Case, bw: Outcome, ll: Outcome): string {
  const msgs = (o: Outcome): string => o.messages.map((m) => `${m.method} ${m.target.slice(0, 40)} body=${JSON.stringify(m.body.slice(0, 40))}${m.complete ? '' : ' (incomplete)'}`).join(' | ');
  return `${JSON.stringify(c.data.toString('latin1').slice(0, 300))}\n    tags: ${c.tags.join(', ')}; rfc: ${c.rfc ?? '-'}\n    bulwark: ${bw.end} ${bw.error} [${msgs(bw)}]\n    llhttp:  ${ll.end} ${ll.error} [${msgs(ll)}]`;
}

test(`the request parser frames messages as llhttp (strict) does and follows RFC 9112 (${CASES} cases, seed ${SEED})`, () => {
  const rand = seededRandom(SEED);
  const found: Record<string, string[]> = { 'accepts-what-llhttp-refuses': [], 'framing-differs': [], 'refuses-what-llhttp-accepts': [], 'waits-where-llhttp-refuses': [], 'rfc-verdict': [], 'split-differs': [] };
  let n = 0;
  const exercised = new Set<string>();
  const explainedBy = new Map<string, number>();
  for (const c of cases(rand)) {
    n++;
    for (const t of c.tags) exercised.add(t);
    const ll = runLlhttp(c.data);
    const bw = runBulwark(c.data, c.data.length);
    // The same bytes in two reads frame the same messages (an error may be found, and named, earlier).
    const split = runBulwark(c.data, Math.floor(rand() * c.data.length));
    if (JSON.stringify({ ...split, error: '' }) !== JSON.stringify({ ...bw, error: '' })) found['split-differs']!.push(show(c, split, bw));
    if (c.rfc !== undefined && c.rfc !== 'either') {
      const first = bw.messages[0];
      // Accepted: the first head passed and nothing in its own bytes was refused.
      const accepted = first !== undefined && (bw.end === 'ok' || bw.messages.length > 1 || first.complete);
      if (accepted !== (c.rfc === 'accept')) found['rfc-verdict']!.push(show(c, bw, ll));
    }
    const d = compare(bw, ll);
    const why = d === 'accepts-what-llhttp-refuses' ? explanation(c, bw, ll) : undefined;
    if (why !== undefined) explainedBy.set(why.why, (explainedBy.get(why.why) ?? 0) + 1);
    else if (d !== undefined) found[d]!.push(show(c, bw, ll));
  }
  const summary = Object.entries(found).map(([k, list]) => `${k}: ${list.length}`).join(', ');
  if (REPORT) {
    for (const [k, list] of Object.entries(found)) for (const s of list) process.stderr.write(`[${k}] ${s}\n`);
    for (const [why, count] of explainedBy) process.stderr.write(`[llhttp stricter than the RFC] ${count} cases: ${why}\n`);
  }
  assert.equal(n, CASES);
  const all = [METHODS, TARGETS, VERSIONS, SEPARATORS, LINE_ENDS, LEADING, HOSTS, FIELDS, FRAMINGS, CHUNK_BODIES].flat().map((x) => x.tag);
  assert.deepEqual(all.filter((t) => !exercised.has(t)), [], 'variants no case exercised');
  for (const k of ['accepts-what-llhttp-refuses', 'framing-differs', 'rfc-verdict', 'split-differs']) {
    assert.equal(found[k]!.length, 0, `${summary}\nfirst ${k}:\n  ${found[k]!.slice(0, 5).join('\n  ')}`);
  }
});
