/**
 * RFC 9113 conformance of the HTTP/2 listener, case by case as h2spec checks it, with raw frames on
 * loopback: a connection error is GOAWAY with the code that names the fault, a stream error is
 * RST_STREAM (or a 400 for a malformed request), what the RFC says to ignore is ignored, nothing
 * malformed reaches the upstream, and the proxy serves a new connection after each case.
 * Faults h2-malformed.test.ts already covers are not repeated here.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import {
  ACK,
  END_HEADERS,
  END_STREAM,
  ErrorCode,
  exchange,
  frame,
  FrameType as T,
  GET,
  literal,
  PADDED,
  POST,
  PREFACE,
  PRIORITY,
  requestBlock,
  SCHEME_HTTP,
  settings,
  u32,
  type H2Outcome,
} from '../support/h2-raw.js';

let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;
/** A listener that allows two concurrent streams. */
let limitedPort: number;

before(async () => {
  upstream = await startUpstream('u');
  port = await freePort();
  limitedPort = await freePort();
  // No keepalive: a connection closes after a GOAWAY for an error because the proxy closes it, not
  // because an unanswered PING gave it away.
  const hcm = { http2ProtocolOptions: { connectionKeepalive: { interval: '0s', timeout: '0s' } } };
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'u' } }]);
  const limited = { http2ProtocolOptions: { maxConcurrentStreams: 2, connectionKeepalive: hcm.http2ProtocolOptions.connectionKeepalive } };
  proxy = await startProxy(bootstrap([httpListener('h', port, routes, hcm), httpListener('limited', limitedPort, routes, limited)], [staticCluster('u', [upstream.port])]));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

const { PROTOCOL_ERROR, FLOW_CONTROL_ERROR, STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM, COMPRESSION_ERROR, CANCEL } = ErrorCode;
const EH = END_HEADERS;
const ES = END_STREAM;

/** A complete GET on `stream`, the request that shows a connection still serves. */
const good = (stream: number, path = '/good'): Buffer => frame(T.Headers, EH | ES, stream, requestBlock(path));
/** A POST's HEADERS on `stream`, its body still to come (the stream stays open). */
const openPost = (stream: number, path: string, ...extra: Buffer[]): Buffer =>
  frame(T.Headers, EH, stream, Buffer.concat([POST, SCHEME_HTTP, literal(':path', path), literal(':authority', 'localhost'), ...extra]));
/** A request block with the pseudo-headers given, in order, and nothing else. */
const pseudo = (...fields: Array<[string, string]>): Buffer => Buffer.concat(fields.map(([n, v]) => literal(n, v)));
const PING_DATA = Buffer.from('h2spec!!');

type Expect =
  /** Connection error: GOAWAY with this code. */
  | { goaway: number }
  /** Stream error on `stream` with one of `codes`; a connection error with one of them is also allowed where `orGoaway`. */
  | { reset: number; codes: number[]; orGoaway?: boolean }
  /** Malformed request (RFC 9113 §8.1.1): RST_STREAM PROTOCOL_ERROR or a 4xx, never forwarded; `path` marks it upstream. */
  | { malformed: number; path: string }
  /** Ignored: the request on stream `served` after it is answered 200, and no GOAWAY. */
  | { served: number }
  /** A field the request on `dropped` is served without: it never reaches the upstream. */
  | { dropped: number; field: string }
  /** A PING that must be answered with an ACK carrying the same data. */
  | { pingAck: true };

interface Case {
  section: string;
  name: string;
  frames: Buffer[];
  expect: Expect;
  /** Written as is, without the preface and SETTINGS. */
  raw?: boolean;
  /** How node:http2 (nghttp2) departs from the RFC here; the case then asserts what it does, which is safe. */
  deviation?: string;
  /** A path that must not reach the upstream. */
  notForwarded?: string;
  /** Sent to the listener that allows two concurrent streams. */
  limited?: boolean;
}

const cases: Case[] = [
  // 3.4 Connection preface
  { section: '3.4', name: 'a preface followed by a PING instead of SETTINGS', raw: true, frames: [PREFACE, frame(T.Ping, 0, 0, PING_DATA)], expect: { goaway: PROTOCOL_ERROR } },
  // 4.1 Frame format
  { section: '4.1', name: 'an unknown frame type is ignored', frames: [frame(0x16, 0, 0, Buffer.from('ext')), good(1)], expect: { served: 1 } },
  { section: '4.1', name: 'undefined flags on a PING are ignored', frames: [frame(T.Ping, 0x16, 0, PING_DATA)], expect: { pingAck: true } },
  { section: '4.1', name: 'the reserved bit of a stream id is ignored', frames: [good(0x80000001)], expect: { served: 1 } },
  // 4.2 Frame size
  { section: '4.2', name: 'a HEADERS frame beyond SETTINGS_MAX_FRAME_SIZE', frames: [frame(T.Headers, EH | ES, 1, requestBlock('/big', Buffer.alloc(16400, 0x40)))], expect: { goaway: FRAME_SIZE_ERROR } },
  // 4.3 Header compression
  { section: '4.3', name: 'HPACK index 0', frames: [frame(T.Headers, EH | ES, 1, Buffer.concat([requestBlock('/hpack0'), Buffer.from([0x80])]))], expect: { goaway: COMPRESSION_ERROR } },
  { section: '4.3', name: 'a dynamic table size update beyond SETTINGS_HEADER_TABLE_SIZE', frames: [frame(T.Headers, EH | ES, 1, Buffer.concat([Buffer.from([0x3f, 0xe2, 0x1f]), requestBlock('/hpack-size')]))], expect: { goaway: COMPRESSION_ERROR } },
  { section: '4.3', name: 'a dynamic table size update after a field', frames: [frame(T.Headers, EH | ES, 1, Buffer.concat([requestBlock('/hpack-late'), Buffer.from([0x20])]))], expect: { goaway: COMPRESSION_ERROR } },
  { section: '4.3', name: 'a Huffman string padded with the EOS symbol', frames: [frame(T.Headers, EH | ES, 1, Buffer.concat([requestBlock('/hpack-eos'), Buffer.from([0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x01, 0x61])]))], expect: { goaway: COMPRESSION_ERROR } },
  { section: '4.3', name: 'a header block split by a frame of another stream', frames: [frame(T.Headers, ES, 1, requestBlock('/split')), frame(T.Headers, EH | ES, 3, requestBlock('/other'))], expect: { goaway: PROTOCOL_ERROR } },
  // 5.1 Stream states: idle
  { section: '5.1', name: 'DATA on an idle stream', frames: [frame(T.Data, ES, 1, Buffer.from('x'))], expect: { goaway: PROTOCOL_ERROR } },
  { section: '5.1', name: 'RST_STREAM on an idle stream', frames: [frame(T.RstStream, 0, 1, u32(CANCEL))], expect: { goaway: PROTOCOL_ERROR } },
  { section: '5.1', name: 'WINDOW_UPDATE on an idle stream', frames: [frame(T.WindowUpdate, 0, 1, u32(100))], expect: { goaway: PROTOCOL_ERROR } },
  { section: '5.1', name: 'CONTINUATION on an idle stream', frames: [frame(T.Continuation, EH, 1, requestBlock('/cont-idle'))], expect: { goaway: PROTOCOL_ERROR } },
  // half-closed (remote)
  { section: '5.1', name: 'DATA after END_STREAM', frames: [good(1, '/hc-data'), frame(T.Data, ES, 1, Buffer.from('x'))], expect: { reset: 1, codes: [STREAM_CLOSED], orGoaway: true } },
  { section: '5.1', name: 'HEADERS after END_STREAM', frames: [good(1, '/hc-headers'), frame(T.Headers, EH | ES, 1, requestBlock('/hc-headers-2'))], expect: { reset: 1, codes: [STREAM_CLOSED], orGoaway: true } },
  { section: '5.1', name: 'CONTINUATION after END_STREAM and END_HEADERS', frames: [good(1, '/hc-cont'), frame(T.Continuation, EH, 1, literal('x-a', 'b'))], expect: { goaway: PROTOCOL_ERROR } },
  // closed
  { section: '5.1', name: 'DATA on a stream the client reset', deviation: 'nghttp2 ignores it; the RFC asks for STREAM_CLOSED', frames: [openPost(1, '/closed-data'), frame(T.RstStream, 0, 1, u32(CANCEL)), frame(T.Data, ES, 1, Buffer.from('x')), good(3)], expect: { served: 3 }, notForwarded: '/closed-data' },
  { section: '5.1', name: 'HEADERS on a stream the client reset', deviation: 'nghttp2 ignores it; the RFC asks for STREAM_CLOSED', frames: [openPost(1, '/closed-headers'), frame(T.RstStream, 0, 1, u32(CANCEL)), frame(T.Headers, EH | ES, 1, literal('x-t', 'v')), good(3)], expect: { served: 3 }, notForwarded: '/closed-headers' },
  { section: '5.1', name: 'CONTINUATION on a stream the client reset', frames: [openPost(1, '/closed-cont'), frame(T.RstStream, 0, 1, u32(CANCEL)), frame(T.Continuation, EH, 1, literal('x-t', 'v'))], expect: { goaway: PROTOCOL_ERROR } },
  // 5.1.1 Stream identifiers
  { section: '5.1.1', name: 'a stream id lower than one already used', deviation: 'nghttp2 ignores the stream; the RFC asks for GOAWAY PROTOCOL_ERROR', frames: [good(5), good(3, '/three')], expect: { served: 5 }, notForwarded: '/three' },
  // 5.1.2 Stream concurrency
  { section: '5.1.2', name: 'a stream beyond SETTINGS_MAX_CONCURRENT_STREAMS', limited: true, frames: [openPost(1, '/open-1'), openPost(3, '/open-2'), openPost(5, '/open-3')], expect: { reset: 5, codes: [PROTOCOL_ERROR, REFUSED_STREAM] }, notForwarded: '/open-3' },
  // 5.3.1 Stream dependencies (deprecated by RFC 9113, still a stream error)
  { section: '5.3.1', name: 'HEADERS that depends on its own stream', frames: [frame(T.Headers, EH | ES | PRIORITY, 1, Buffer.concat([u32(1), Buffer.from([15]), requestBlock('/self-dep')]))], expect: { reset: 1, codes: [PROTOCOL_ERROR], orGoaway: true } },
  { section: '5.3.1', name: 'PRIORITY that depends on its own stream', frames: [frame(T.Priority, 0, 1, Buffer.concat([u32(1), Buffer.from([15])]))], expect: { reset: 1, codes: [PROTOCOL_ERROR], orGoaway: true } },
  // 5.5 Extending HTTP/2
  { section: '5.5', name: 'an unknown frame inside a header block', frames: [frame(T.Headers, ES, 1, requestBlock('/ext-mid')), frame(0x16, 0, 0, Buffer.from('ext')), frame(T.Continuation, EH, 1, literal('x-a', 'b'))], expect: { goaway: PROTOCOL_ERROR } },
  // 6.1 DATA
  { section: '6.1', name: 'DATA whose pad length exceeds its payload', frames: [openPost(1, '/pad-data'), frame(T.Data, ES | PADDED, 1, Buffer.from([8, 0x61, 0x62, 0x63]))], expect: { goaway: PROTOCOL_ERROR } },
  // 6.2 HEADERS
  { section: '6.2', name: 'a header block followed by PRIORITY', frames: [frame(T.Headers, ES, 1, requestBlock('/then-prio')), frame(T.Priority, 0, 1, Buffer.concat([u32(0), Buffer.from([15])]))], expect: { goaway: PROTOCOL_ERROR } },
  { section: '6.2', name: 'a header block followed by DATA', frames: [frame(T.Headers, 0, 1, Buffer.concat([POST, SCHEME_HTTP, literal(':path', '/then-data'), literal(':authority', 'localhost')])), frame(T.Data, ES, 1, Buffer.from('x'))], expect: { goaway: PROTOCOL_ERROR } },
  { section: '6.2', name: 'HEADERS on stream 0', frames: [frame(T.Headers, EH | ES, 0, requestBlock('/zero'))], expect: { goaway: PROTOCOL_ERROR } },
  { section: '6.2', name: 'HEADERS whose pad length exceeds its payload', frames: [frame(T.Headers, EH | ES | PADDED, 1, Buffer.concat([Buffer.from([200]), requestBlock('/pad-headers')]))], expect: { goaway: PROTOCOL_ERROR } },
  // 6.3 PRIORITY
  { section: '6.3', name: 'PRIORITY on stream 0', frames: [frame(T.Priority, 0, 0, Buffer.concat([u32(1), Buffer.from([15])]))], expect: { goaway: PROTOCOL_ERROR } },
  { section: '6.3', name: 'PRIORITY of 4 octets', frames: [openPost(1, '/prio-size'), frame(T.Priority, 0, 1, u32(3))], expect: { reset: 1, codes: [FRAME_SIZE_ERROR], orGoaway: true } },
  // 6.4 RST_STREAM
  { section: '6.4', name: 'RST_STREAM on stream 0', frames: [frame(T.RstStream, 0, 0, u32(CANCEL))], expect: { goaway: PROTOCOL_ERROR } },
  { section: '6.4', name: 'RST_STREAM of 3 octets', frames: [openPost(1, '/rst-size'), frame(T.RstStream, 0, 1, Buffer.from([0, 0, 8]))], expect: { goaway: FRAME_SIZE_ERROR } },
  // 6.5 SETTINGS
  { section: '6.5', name: 'a SETTINGS ACK with a payload', frames: [frame(T.Settings, ACK, 0, settings([4, 100]))], expect: { goaway: FRAME_SIZE_ERROR } },
  { section: '6.5', name: 'SETTINGS on stream 1', frames: [frame(T.Settings, 0, 1, settings([4, 100]))], expect: { goaway: PROTOCOL_ERROR } },
  { section: '6.5', name: 'SETTINGS of 3 octets', frames: [frame(T.Settings, 0, 0, Buffer.from([0, 4, 0]))], expect: { goaway: FRAME_SIZE_ERROR } },
  { section: '6.5.2', name: 'SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1', frames: [frame(T.Settings, 0, 0, settings([4, 2 ** 31]))], expect: { goaway: FLOW_CONTROL_ERROR } },
  { section: '6.5.2', name: 'SETTINGS_MAX_FRAME_SIZE below 16384', frames: [frame(T.Settings, 0, 0, settings([5, 16383]))], expect: { goaway: PROTOCOL_ERROR } },
  { section: '6.5.2', name: 'SETTINGS_MAX_FRAME_SIZE above 2^24-1', frames: [frame(T.Settings, 0, 0, settings([5, 2 ** 24]))], expect: { goaway: PROTOCOL_ERROR } },
  { section: '6.5.2', name: 'an unknown setting is ignored', frames: [frame(T.Settings, 0, 0, settings([0xff, 1])), good(1)], expect: { served: 1 } },
  // 6.7 PING
  { section: '6.7', name: 'a PING is answered with its data', frames: [frame(T.Ping, 0, 0, PING_DATA)], expect: { pingAck: true } },
  { section: '6.7', name: 'an unsolicited PING ACK', deviation: 'node:http2 sends GOAWAY PROTOCOL_ERROR; the RFC asks to ignore it', frames: [frame(T.Ping, ACK, 0, PING_DATA)], expect: { goaway: PROTOCOL_ERROR } },
  { section: '6.7', name: 'PING on stream 1', frames: [frame(T.Ping, 0, 1, PING_DATA)], expect: { goaway: PROTOCOL_ERROR } },
  { section: '6.7', name: 'PING of 6 octets', frames: [frame(T.Ping, 0, 0, PING_DATA.subarray(0, 6))], expect: { goaway: FRAME_SIZE_ERROR } },
  // 6.8 GOAWAY
  { section: '6.8', name: 'GOAWAY on stream 1', frames: [frame(T.GoAway, 0, 1, Buffer.concat([u32(0), u32(0)]))], expect: { goaway: PROTOCOL_ERROR } },
  // 6.9 WINDOW_UPDATE
  { section: '6.9', name: 'a stream WINDOW_UPDATE of 0', frames: [openPost(1, '/wu-zero'), frame(T.WindowUpdate, 0, 1, u32(0))], expect: { reset: 1, codes: [PROTOCOL_ERROR], orGoaway: true } },
  { section: '6.9', name: 'WINDOW_UPDATE of 3 octets', frames: [frame(T.WindowUpdate, 0, 0, Buffer.from([0, 0, 1]))], expect: { goaway: FRAME_SIZE_ERROR } },
  { section: '6.9.1', name: 'a connection window beyond 2^31-1', frames: [frame(T.WindowUpdate, 0, 0, u32(2 ** 31 - 1)), frame(T.WindowUpdate, 0, 0, u32(2 ** 31 - 1))], expect: { goaway: FLOW_CONTROL_ERROR } },
  { section: '6.9.1', name: 'a stream window beyond 2^31-1', frames: [openPost(1, '/wu-over'), frame(T.WindowUpdate, 0, 1, u32(2 ** 31 - 1)), frame(T.WindowUpdate, 0, 1, u32(2 ** 31 - 1))], expect: { reset: 1, codes: [FLOW_CONTROL_ERROR] } },
  { section: '6.9.2', name: 'SETTINGS_INITIAL_WINDOW_SIZE that takes a stream window beyond 2^31-1', deviation: 'nghttp2 resets the stream; the RFC asks for GOAWAY FLOW_CONTROL_ERROR', frames: [openPost(1, '/wu-settings'), frame(T.WindowUpdate, 0, 1, u32(2 ** 31 - 1 - 65535)), frame(T.Settings, 0, 0, settings([4, 65536]))], expect: { reset: 1, codes: [FLOW_CONTROL_ERROR] } },
  // 6.10 CONTINUATION
  { section: '6.10', name: 'a header block in HEADERS and two CONTINUATIONs is served', frames: [frame(T.Headers, ES, 1, Buffer.concat([GET, SCHEME_HTTP])), frame(T.Continuation, 0, 1, literal(':path', '/good')), frame(T.Continuation, EH, 1, literal(':authority', 'localhost'))], expect: { served: 1 } },
  { section: '6.10', name: 'CONTINUATION after END_HEADERS', frames: [openPost(1, '/cont-after'), frame(T.Continuation, EH, 1, literal('x-a', 'b'))], expect: { goaway: PROTOCOL_ERROR } },
  { section: '6.10', name: 'CONTINUATION on stream 0', frames: [frame(T.Headers, ES, 1, requestBlock('/cont-zero')), frame(T.Continuation, EH, 0, literal('x-a', 'b'))], expect: { goaway: PROTOCOL_ERROR } },
  { section: '6.10', name: 'CONTINUATION on another stream', frames: [frame(T.Headers, ES, 1, requestBlock('/cont-other')), frame(T.Continuation, EH, 3, literal('x-a', 'b'))], expect: { goaway: PROTOCOL_ERROR } },
  // 8.1 HTTP message framing
  { section: '8.1', name: 'trailers without END_STREAM', frames: [openPost(1, '/trailers-open'), frame(T.Data, 0, 1, Buffer.from('abc')), frame(T.Headers, EH, 1, literal('x-t', 'v'))], expect: { malformed: 1, path: '/trailers-open' } },
  { section: '8.1.1', name: 'DATA longer than content-length', frames: [openPost(1, '/cl-long', literal('content-length', '2')), frame(T.Data, ES, 1, Buffer.from('abc'))], expect: { malformed: 1, path: '/cl-long' } },
  { section: '8.1.1', name: 'DATA frames that add up past content-length', frames: [openPost(1, '/cl-sum', literal('content-length', '4')), frame(T.Data, 0, 1, Buffer.from('abc')), frame(T.Data, ES, 1, Buffer.from('de'))], expect: { malformed: 1, path: '/cl-sum' } },
  { section: '8.1.1', name: 'a body on a request whose content-length is 0', frames: [openPost(1, '/cl-zero', literal('content-length', '0')), frame(T.Data, ES, 1, Buffer.from('a'))], expect: { malformed: 1, path: '/cl-zero' } },
  { section: '8.1.1', name: 'END_STREAM on HEADERS with a content-length of 5', frames: [frame(T.Headers, EH | ES, 1, Buffer.concat([POST, SCHEME_HTTP, literal(':path', '/cl-none'), literal(':authority', 'localhost'), literal('content-length', '5')]))], expect: { malformed: 1, path: '/cl-none' } },
  { section: '8.1', name: 'an empty header block', frames: [frame(T.Headers, EH | ES, 1)], expect: { reset: 1, codes: [PROTOCOL_ERROR], orGoaway: true } },
  { section: '8.1', name: 'a header block of CONTINUATIONs far beyond SETTINGS_MAX_HEADER_LIST_SIZE (CONTINUATION flood)', frames: [frame(T.Headers, ES, 1, requestBlock('/flood')), ...Array.from({ length: 64 }, () => frame(T.Continuation, 0, 1, Buffer.concat(Array.from({ length: 150 }, () => literal('x-flood', 'f'.repeat(100))))))], expect: { reset: 1, codes: [PROTOCOL_ERROR, ErrorCode.ENHANCE_YOUR_CALM, ErrorCode.INTERNAL_ERROR, COMPRESSION_ERROR], orGoaway: true }, notForwarded: '/flood' },
  // 8.2 Fields
  { section: '8.2.1', name: 'a field name with a space', deviation: 'nghttp2 drops the field and serves the request; the RFC calls it malformed', frames: [frame(T.Headers, EH | ES, 1, requestBlock('/name-space', literal('x a', 'b')))], expect: { dropped: 1, field: 'x a' } },
  { section: '8.2.1', name: 'a field name with a colon inside', deviation: 'nghttp2 drops the field and serves the request; the RFC calls it malformed', frames: [frame(T.Headers, EH | ES, 1, requestBlock('/name-colon', literal('x:a', 'b')))], expect: { dropped: 1, field: 'x:a' } },
  { section: '8.2.1', name: 'a field value with leading whitespace', deviation: 'nghttp2 drops the field and serves the request; the RFC calls it malformed', frames: [frame(T.Headers, EH | ES, 1, requestBlock('/value-lead', literal('x-a', ' b')))], expect: { dropped: 1, field: 'x-a' } },
  { section: '8.2.1', name: 'a field value with trailing whitespace', deviation: 'nghttp2 drops the field and serves the request; the RFC calls it malformed', frames: [frame(T.Headers, EH | ES, 1, requestBlock('/value-trail', literal('x-a', 'b\t')))], expect: { dropped: 1, field: 'x-a' } },
  { section: '8.2.2', name: 'a keep-alive field', frames: [frame(T.Headers, EH | ES, 1, requestBlock('/keep-alive', literal('keep-alive', 'timeout=5')))], expect: { malformed: 1, path: '/keep-alive' } },
  { section: '8.2.2', name: 'a transfer-encoding field', frames: [openPost(1, '/te-chunked', literal('transfer-encoding', 'chunked')), frame(T.Data, ES, 1, Buffer.from('3\r\nabc\r\n0\r\n\r\n'))], expect: { malformed: 1, path: '/te-chunked' } },
  { section: '8.2.2', name: 'an upgrade field', frames: [frame(T.Headers, EH | ES, 1, requestBlock('/upgrade', literal('upgrade', 'websocket')))], expect: { malformed: 1, path: '/upgrade' } },
  { section: '8.2.2', name: 'a proxy-connection field', frames: [frame(T.Headers, EH | ES, 1, requestBlock('/proxy-connection', literal('proxy-connection', 'keep-alive')))], expect: { malformed: 1, path: '/proxy-connection' } },
  // 8.3 Pseudo-header fields
  { section: '8.3', name: 'a response pseudo-header in a request', frames: [frame(T.Headers, EH | ES, 1, requestBlock('/status', literal(':status', '200')))], expect: { malformed: 1, path: '/status' } },
  { section: '8.3', name: 'a pseudo-header in trailers', frames: [openPost(1, '/pseudo-trailer'), frame(T.Data, 0, 1, Buffer.from('a')), frame(T.Headers, EH | ES, 1, literal(':method', 'POST'))], expect: { malformed: 1, path: '/pseudo-trailer' } },
  { section: '8.3.1', name: 'an empty :path', frames: [frame(T.Headers, EH | ES, 1, Buffer.concat([GET, SCHEME_HTTP, pseudo([':path', ''], [':authority', 'localhost'], ['x-case', 'empty-path'])]))], expect: { malformed: 1, path: '' } },
  { section: '8.3.1', name: 'no :method', frames: [frame(T.Headers, EH | ES, 1, Buffer.concat([SCHEME_HTTP, pseudo([':path', '/no-method'], [':authority', 'localhost'])]))], expect: { malformed: 1, path: '/no-method' } },
  { section: '8.3.1', name: 'no :scheme', frames: [frame(T.Headers, EH | ES, 1, Buffer.concat([GET, pseudo([':path', '/no-scheme'], [':authority', 'localhost'])]))], expect: { malformed: 1, path: '/no-scheme' } },
  { section: '8.3.1', name: 'two :method', frames: [frame(T.Headers, EH | ES, 1, Buffer.concat([GET, POST, SCHEME_HTTP, pseudo([':path', '/two-methods'], [':authority', 'localhost'])]))], expect: { malformed: 1, path: '/two-methods' } },
  { section: '8.3.1', name: 'two :scheme', frames: [frame(T.Headers, EH | ES, 1, Buffer.concat([GET, SCHEME_HTTP, SCHEME_HTTP, pseudo([':path', '/two-schemes'], [':authority', 'localhost'])]))], expect: { malformed: 1, path: '/two-schemes' } },
  { section: '8.3.1', name: 'two :path', frames: [frame(T.Headers, EH | ES, 1, Buffer.concat([GET, SCHEME_HTTP, pseudo([':path', '/two-paths'], [':path', '/two-paths'], [':authority', 'localhost'])]))], expect: { malformed: 1, path: '/two-paths' } },
  { section: '8.3.1', name: 'two :authority', frames: [frame(T.Headers, EH | ES, 1, Buffer.concat([GET, SCHEME_HTTP, pseudo([':path', '/two-authorities'], [':authority', 'localhost'], [':authority', 'other'])]))], expect: { malformed: 1, path: '/two-authorities' } },
  { section: '8.3.1', name: 'a :path that is not origin-form', frames: [frame(T.Headers, EH | ES, 1, requestBlock('abc'))], expect: { malformed: 1, path: 'abc' } },
  { section: '8.3.1', name: 'a :path in absolute-form', frames: [frame(T.Headers, EH | ES, 1, requestBlock('http://other/abs'))], expect: { malformed: 1, path: 'http://other/abs' } },
  { section: '8.3.1', name: 'a :path of * on a GET', frames: [frame(T.Headers, EH | ES, 1, requestBlock('*'))], expect: { malformed: 1, path: '*' } },
  { section: '8.3.1', name: 'a :method that is not a token', frames: [frame(T.Headers, EH | ES, 1, Buffer.concat([SCHEME_HTTP, pseudo([':method', 'G T'], [':path', '/bad-method'], [':authority', 'localhost'])]))], expect: { malformed: 1, path: '/bad-method' } },
  { section: '8.3.1', name: 'an :authority with a space', frames: [frame(T.Headers, EH | ES, 1, Buffer.concat([GET, SCHEME_HTTP, pseudo([':path', '/bad-authority'], [':authority', 'local host'])]))], expect: { malformed: 1, path: '/bad-authority' } },
  { section: '8.1.1', name: 'a content-length that is not a number', frames: [openPost(1, '/cl-nan', literal('content-length', 'abc')), frame(T.Data, ES, 1, Buffer.from('abc'))], expect: { malformed: 1, path: '/cl-nan' } },
  { section: '8.1.1', name: 'two different content-length values', frames: [openPost(1, '/cl-two', literal('content-length', '3'), literal('content-length', '4')), frame(T.Data, ES, 1, Buffer.from('abc'))], expect: { malformed: 1, path: '/cl-two' } },
  { section: '8.2.2', name: 'te: trailers is allowed', frames: [frame(T.Headers, EH | ES, 1, requestBlock('/good', literal('te', 'trailers')))], expect: { served: 1 } },
  // 8.4 Server push
  { section: '8.4', name: 'PUSH_PROMISE from a client', frames: [openPost(1, '/push'), frame(T.PushPromise, EH, 1, Buffer.concat([u32(2), requestBlock('/pushed')]))], expect: { goaway: PROTOCOL_ERROR } },
];

/** Whether `out` already holds everything the case waits for. */
function settled(expect: Expect, out: H2Outcome): boolean {
  if ('goaway' in expect) return out.goaway !== undefined && out.closed;
  if ('reset' in expect) return out.resets.has(expect.reset) || out.goaway !== undefined;
  if ('malformed' in expect) return out.resets.has(expect.malformed) || out.statuses.has(expect.malformed) || out.goaway !== undefined;
  if ('served' in expect) return out.statuses.has(expect.served) || out.goaway !== undefined;
  if ('dropped' in expect) return out.statuses.has(expect.dropped) || out.goaway !== undefined;
  if ('pingAck' in expect) return out.pingAcks.length > 0;
  return false;
}

function describe(out: H2Outcome): string {
  return `goaway ${out.goaway} resets ${JSON.stringify([...out.resets])} statuses ${JSON.stringify([...out.statuses])} closed ${out.closed}`;
}

/** A plain GET on a new connection, bounded. */
function stillServes(): Promise<number> {
  return new Promise((resolve) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    const timer = setTimeout(() => finish(0), 3000);
    const finish = (status: number): void => {
      clearTimeout(timer);
      client.destroy();
      resolve(status);
    };
    client.on('error', () => finish(0));
    const req = client.request({ ':path': '/alive' });
    req.on('response', (h) => finish(Number(h[':status'])));
    req.on('error', () => finish(0));
    req.end();
  });
}

for (const c of cases) {
  test(`§${c.section} ${c.name}${c.deviation ? ` (deviation: ${c.deviation})` : ''}`, async () => {
    const before = upstream.requests.length;
    const out = await exchange(c.limited ? limitedPort : port, c.frames, { raw: c.raw, ms: 2000, enough: (o) => settled(c.expect, o) });
    const seen = describe(out);
    const e = c.expect;
    if ('goaway' in e) {
      assert.equal(out.goaway, e.goaway, seen);
      assert.ok(out.closed, `the connection is closed after GOAWAY (${seen})`);
    } else if ('reset' in e) {
      if (out.resets.has(e.reset) || !e.orGoaway) assert.ok(e.codes.includes(out.resets.get(e.reset) ?? -1), seen);
      else assert.ok(e.codes.includes(out.goaway ?? -1), seen);
    } else if ('malformed' in e) {
      const status = out.statuses.get(e.malformed);
      const refused = out.resets.get(e.malformed) === PROTOCOL_ERROR || (status !== undefined && status >= 400 && status < 500);
      assert.ok(refused, seen);
      const forwarded = upstream.requests.slice(before).filter((r) => r.url === e.path || (e.path === '' && r.headers['x-case'] === 'empty-path'));
      assert.deepEqual(forwarded.map((r) => r.url), [], 'nothing malformed reaches the upstream');
    } else if ('served' in e) {
      assert.equal(out.goaway, undefined, seen);
      assert.equal(out.statuses.get(e.served), 200, seen);
    } else if ('dropped' in e) {
      assert.equal(out.statuses.get(e.dropped), 200, seen);
      const sent = upstream.requests.slice(before).flatMap((r) => r.rawHeaders.filter((_, i) => i % 2 === 0));
      assert.ok(!sent.some((n) => n.toLowerCase() === e.field), `the field never reaches the upstream: ${sent.join(',')}`);
    } else {
      assert.deepEqual(out.pingAcks, [PING_DATA], seen);
    }
    if (c.notForwarded !== undefined) assert.ok(!upstream.requests.slice(before).some((r) => r.url === c.notForwarded), 'nothing of it reaches the upstream');
    assert.equal(await stillServes(), 200, 'the proxy serves a new connection');
  });
}

test('§3.4 a wrong connection preface is not served, and the connection is closed', async () => {
  const out = await exchange(port, [Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n', 'latin1'), frame(T.Settings, 0, 0)], { raw: true, ms: 3000 });
  assert.ok(out.closed, describe(out));
  assert.equal(await stillServes(), 200);
});

test('§3.4 a preface whose first segments are one byte each is read as HTTP/2 (it was taken for HTTP/1.1 and answered 505)', async () => {
  const bytes = [PREFACE.subarray(0, 1), PREFACE.subarray(1, 2), PREFACE.subarray(2), frame(T.Settings, 0, 0), good(1)];
  const out = await exchange(port, bytes, { raw: true, gapMs: 40, ms: 2000, enough: (o) => o.statuses.has(1) });
  assert.equal(out.statuses.get(1), 200, describe(out));
});

test('an HTTP/1.1 POST whose first segment is one byte is still read as HTTP/1.1', async () => {
  const reply = await new Promise<string>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    let text = '';
    const timer = setTimeout(() => socket.destroy(), 2000);
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.write('P');
    setTimeout(() => socket.write('OST /h1-split HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi'), 40);
  });
  assert.match(reply, /^HTTP\/1\.1 200 /);
  assert.ok(upstream.requests.some((r) => r.url === '/h1-split' && r.body === 'hi'));
});

/**
 * Streams reset for the client's faults cannot be opened without end ("MadeYouReset", CVE-2025-8671):
 * the proxy's guard counts them as the client's own resets (ENHANCE_YOUR_CALM), and nghttp2 ends
 * the connection itself for some faults (their own code).
 */
const provokedResets: Array<[string, (id: number) => Buffer[]]> = [
  ['a stream WINDOW_UPDATE of 0', (id) => [openPost(id, '/provoked'), frame(T.WindowUpdate, 0, id, u32(0))]],
  ['DATA beyond content-length', (id) => [openPost(id, '/provoked', literal('content-length', '1')), frame(T.Data, ES, id, Buffer.from('ab'))]],
  ['a stream window beyond 2^31-1', (id) => [openPost(id, '/provoked'), frame(T.WindowUpdate, 0, id, u32(2 ** 31 - 1)), frame(T.WindowUpdate, 0, id, u32(2 ** 31 - 1))]],
];

for (const [name, provoke] of provokedResets) {
  test(`streams reset for ${name}, in a burst, send the connection away`, async () => {
    const frames = Array.from({ length: 300 }, (_, i) => provoke(1 + 2 * i)).flat();
    const out = await exchange(port, frames, { ms: 3000, enough: (o) => o.goaway !== undefined });
    assert.ok(out.goaway !== undefined, describe(out).slice(0, 300));
    assert.equal(await stillServes(), 200);
  });
}

test('§6.5.3 the client\'s SETTINGS are acknowledged', async () => {
  const out = await exchange(port, [frame(T.Settings, 0, 0, settings([3, 100]))], { ms: 1500, enough: (o) => o.settingsAcks >= 2 });
  assert.equal(out.settingsAcks, 2, 'the empty SETTINGS of the preface and this one');
});

test('§6.9.1 SETTINGS_INITIAL_WINDOW_SIZE of 1: the response body comes no faster than WINDOW_UPDATEs allow', async () => {
  const out = await exchange(port, [frame(T.Settings, 0, 0, settings([4, 1])), good(1)], { ms: 600 });
  assert.equal(out.statuses.get(1), 200, describe(out));
  assert.deepEqual(out.data.get(1), [1], 'one byte of DATA, then nothing without a WINDOW_UPDATE');
  const more = await exchange(port, [frame(T.Settings, 0, 0, settings([4, 1])), good(1), frame(T.WindowUpdate, 0, 1, u32(1)), frame(T.WindowUpdate, 0, 1, u32(1))], { ms: 600 });
  assert.equal((more.data.get(1) ?? []).reduce((a, b) => a + b, 0), 3, 'as many bytes as the window grew to');
});

test('§6.9.2 SETTINGS_INITIAL_WINDOW_SIZE of 0 after the request: no DATA until a WINDOW_UPDATE', async () => {
  const out = await exchange(port, [frame(T.Settings, 0, 0, settings([4, 0])), good(1)], { ms: 600 });
  assert.equal(out.statuses.get(1), 200, describe(out));
  assert.equal(out.data.get(1), undefined, 'no DATA within a window of 0');
});
