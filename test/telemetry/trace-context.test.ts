import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseB3Multi, parseB3Single } from '../../src/telemetry/b3-headers.js';
import { continueTrace, readTraceHeaders, rewriteTraceHeaders, traceHeaders, TRACE_HEADER_NAMES } from '../../src/telemetry/trace-context.js';
import { formatTraceparent, isValidTracestate, parseTraceparent } from '../../src/telemetry/w3c-trace-context.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const VALID = `00-${TRACE}-${PARENT}-01`;

function headerMap(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

describe('W3C traceparent', () => {
  test('a valid traceparent parses into trace id, parent id and the sampled flag', () => {
    assert.deepEqual(parseTraceparent(VALID), { traceId: TRACE, parentId: PARENT, sampled: true });
    assert.equal(parseTraceparent(`00-${TRACE}-${PARENT}-00`)!.sampled, false);
    assert.equal(parseTraceparent(`00-${TRACE}-${PARENT}-03`)!.sampled, true);
  });

  test('invalid traceparents are refused', () => {
    const invalid = [
      '',
      VALID.toUpperCase(),
      `00-${'0'.repeat(32)}-${PARENT}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `ff-${TRACE}-${PARENT}-01`,
      `00-${TRACE}-${PARENT}-01-extra`,
      `00-${TRACE.slice(1)}-${PARENT}-01`,
      `00_${TRACE}-${PARENT}-01`,
      `00-${TRACE}-${PARENT}-0x`,
      `0g-${TRACE}-${PARENT}-01`,
      `00-${TRACE.slice(0, 31)}z-${PARENT}-01`,
    ];
    for (const value of invalid) assert.equal(parseTraceparent(value), undefined, value);
  });

  test('a higher version is read by its version-00 prefix, with or without more fields', () => {
    assert.equal(parseTraceparent(`01-${TRACE}-${PARENT}-01`)!.traceId, TRACE);
    assert.equal(parseTraceparent(`01-${TRACE}-${PARENT}-01-what-comes-next`)!.traceId, TRACE);
    assert.equal(parseTraceparent(`01-${TRACE}-${PARENT}-01x`), undefined);
  });

  test('formatting gives version 00', () => {
    assert.equal(formatTraceparent(TRACE, PARENT, true), VALID);
    assert.equal(formatTraceparent(TRACE, PARENT, false), `00-${TRACE}-${PARENT}-00`);
  });

  test('tracestate grammar: list members, keys, values, at most 32, no duplicates', () => {
    assert.ok(isValidTracestate('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7'));
    assert.ok(isValidTracestate('tenant@vendor=x, ,  b=1'));
    assert.ok(!isValidTracestate('Upper=1'));
    assert.ok(!isValidTracestate('a=1,a=2'));
    assert.ok(!isValidTracestate('novalue'));
    assert.ok(!isValidTracestate('a=has,comma=1=2'));
    assert.ok(isValidTracestate('a=spaces around are list whitespace '));
    assert.ok(!isValidTracestate('a=control\u0001char'));
    assert.ok(isValidTracestate(Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(',')));
    assert.ok(!isValidTracestate(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')));
  });
});

describe('B3', () => {
  test('single header: full, without parent, without sampling, and sampling only', () => {
    assert.deepEqual(parseB3Single(`${TRACE}-${PARENT}-1-${'a'.repeat(16)}`), { traceId: TRACE, spanId: PARENT, parentSpanId: 'a'.repeat(16), sampled: true, debug: false });
    assert.deepEqual(parseB3Single(`${TRACE.slice(16)}-${PARENT}-d`), { traceId: TRACE.slice(16), spanId: PARENT, parentSpanId: undefined, sampled: true, debug: true });
    assert.equal(parseB3Single(`${TRACE}-${PARENT}`)!.sampled, undefined);
    assert.deepEqual(parseB3Single('0'), { traceId: undefined, spanId: undefined, parentSpanId: undefined, sampled: false, debug: false });
    for (const bad of ['x', `${TRACE}`, `${TRACE}-${PARENT}-2`, `${TRACE}-short`, `${TRACE.toUpperCase()}-${PARENT}-1`, `${'0'.repeat(32)}-${PARENT}-1`]) {
      assert.equal(parseB3Single(bad), undefined, bad);
    }
  });

  test('multi headers: ids need each other; sampled accepts 1/0 and true/false; flags=1 is debug', () => {
    assert.equal(parseB3Multi({ traceId: TRACE, spanId: PARENT, sampled: 'true' })!.sampled, true);
    assert.equal(parseB3Multi({ traceId: TRACE, spanId: PARENT, sampled: '0' })!.sampled, false);
    assert.equal(parseB3Multi({ traceId: TRACE, spanId: PARENT, flags: '1' })!.debug, true);
    assert.equal(parseB3Multi({ traceId: TRACE }), undefined);
    assert.equal(parseB3Multi({ traceId: TRACE, spanId: 'nothex!!nothex!!' }), undefined);
    assert.deepEqual(parseB3Multi({ sampled: '1' }), { traceId: undefined, spanId: undefined, parentSpanId: undefined, sampled: true, debug: false });
  });
});

describe('propagation through a proxy hop', () => {
  test('a valid traceparent is continued: same trace, the caller span becomes the parent, a new span for this hop', () => {
    const ctx = continueTrace({ traceparent: VALID, tracestate: 'congo=t61rcWkgMzE' }, false);
    assert.equal(ctx.traceId, TRACE);
    assert.equal(ctx.parentSpanId, PARENT);
    assert.notEqual(ctx.spanId, PARENT);
    assert.match(ctx.spanId, /^[0-9a-f]{16}$/);
    assert.equal(ctx.sampled, true, 'the caller decision stands over the local one');
    assert.equal(ctx.started, false);
    const out = headerMap(traceHeaders(ctx));
    assert.equal(out['traceparent'], `00-${TRACE}-${ctx.spanId}-01`);
    assert.equal(out['tracestate'], 'congo=t61rcWkgMzE');
    assert.equal(out['x-b3-traceid'], TRACE);
    assert.equal(out['x-b3-spanid'], ctx.spanId);
    assert.equal(out['x-b3-parentspanid'], PARENT);
    assert.equal(out['x-b3-sampled'], '1');
  });

  test('each hop makes a different span id', () => {
    const spans = new Set(Array.from({ length: 100 }, () => continueTrace({ traceparent: VALID }, true).spanId));
    assert.equal(spans.size, 100);
  });

  test('an invalid traceparent starts a new trace and drops the tracestate', () => {
    const ctx = continueTrace({ traceparent: VALID.toUpperCase(), tracestate: 'congo=1' }, true);
    assert.equal(ctx.started, true);
    assert.notEqual(ctx.traceId, TRACE);
    assert.match(ctx.traceId, /^[0-9a-f]{32}$/);
    assert.equal(ctx.parentSpanId, undefined);
    assert.equal(ctx.sampled, true);
    const out = headerMap(traceHeaders(ctx));
    assert.equal(out['tracestate'], undefined);
    assert.equal(out['x-b3-parentspanid'], undefined);
    assert.ok(parseTraceparent(out['traceparent']!));
  });

  test('no trace headers: a new trace sampled by the local decision', () => {
    assert.equal(continueTrace({}, false).sampled, false);
    assert.equal(continueTrace({}, true).sampled, true);
    assert.equal(continueTrace({}, true).started, true);
  });

  test('an invalid tracestate is dropped while the valid traceparent is kept', () => {
    const ctx = continueTrace({ traceparent: VALID, tracestate: 'BAD KEY=1' }, false);
    assert.equal(ctx.traceId, TRACE);
    assert.equal(ctx.tracestate, undefined);
  });

  test('B3 only: the trace continues over B3 and a matching traceparent is added (64-bit ids widened)', () => {
    const b3Trace = TRACE.slice(16);
    const ctx = continueTrace({ xB3TraceId: b3Trace, xB3SpanId: PARENT, xB3Sampled: '1' }, false);
    assert.equal(ctx.traceId, '0000000000000000' + b3Trace);
    assert.equal(ctx.parentSpanId, PARENT);
    assert.equal(ctx.sampled, true);
    const out = headerMap(traceHeaders(ctx));
    assert.equal(out['x-b3-traceid'], b3Trace, 'B3 keeps its 64-bit form');
    assert.equal(out['traceparent'], `00-0000000000000000${b3Trace}-${ctx.spanId}-01`);
  });

  test('a single b3 header is answered with a single b3 header', () => {
    const ctx = continueTrace({ b3: `${TRACE}-${PARENT}-0` }, true);
    assert.equal(ctx.sampled, false);
    const out = headerMap(traceHeaders(ctx));
    assert.equal(out['b3'], `${TRACE}-${ctx.spanId}-0-${PARENT}`);
    assert.equal(out['x-b3-traceid'], undefined);
    assert.equal(out['traceparent'], `00-${TRACE}-${ctx.spanId}-00`);
  });

  test('B3 with a deferred decision takes the local one; B3 debug is kept', () => {
    assert.equal(continueTrace({ b3: `${TRACE}-${PARENT}` }, true).sampled, true);
    const debug = continueTrace({ xB3TraceId: TRACE, xB3SpanId: PARENT, xB3Flags: '1' }, false);
    assert.equal(debug.sampled, true);
    assert.equal(headerMap(traceHeaders(debug))['x-b3-flags'], '1');
  });

  test('a B3 sampling-only header decides sampling of the new trace', () => {
    const ctx = continueTrace({ b3: '0' }, true);
    assert.equal(ctx.started, true);
    assert.equal(ctx.sampled, false);
  });

  test('W3C and B3 naming different traces: W3C wins and B3 is rewritten to match', () => {
    const other = 'a'.repeat(32);
    const ctx = continueTrace({ traceparent: VALID, xB3TraceId: other, xB3SpanId: 'b'.repeat(16), xB3Sampled: '0' }, false);
    assert.equal(ctx.traceId, TRACE);
    assert.equal(ctx.sampled, true);
    const out = headerMap(traceHeaders(ctx));
    assert.equal(out['x-b3-traceid'], TRACE);
    assert.equal(out['x-b3-parentspanid'], PARENT);
    assert.equal(out['x-b3-sampled'], '1');
  });

  test('W3C and a 64-bit B3 id for the same trace: B3 keeps its short form', () => {
    const ctx = continueTrace({ traceparent: `00-0000000000000000${TRACE.slice(16)}-${PARENT}-01`, xB3TraceId: TRACE.slice(16), xB3SpanId: PARENT }, false);
    assert.equal(ctx.b3TraceId, TRACE.slice(16));
  });

  test('trace headers are read from a flat header array; tracestate headers are joined', () => {
    const incoming = readTraceHeaders(['host', 'a', 'traceparent', VALID, 'tracestate', 'a=1', 'x-b3-sampled', '1', 'tracestate', 'b=2', 'user-agent', 'x']);
    assert.deepEqual(incoming, { traceparent: VALID, tracestate: 'a=1,b=2', xB3Sampled: '1' });
    for (const name of traceHeaders(continueTrace(incoming, true)).filter((_, i) => i % 2 === 0)) assert.ok(TRACE_HEADER_NAMES.includes(name), name);
  });

  test('rewriting a header array in place replaces the incoming trace headers and keeps the others in order', () => {
    const headers = ['host', 'a', 'x-b3-traceid', 'a'.repeat(32), 'traceparent', VALID, 'accept', '*/*', 'x-b3-spanid', 'b'.repeat(16), 'b3', 'junk'];
    const ctx = rewriteTraceHeaders(headers, false);
    assert.equal(ctx.traceId, TRACE);
    const names = headers.filter((_, i) => i % 2 === 0);
    assert.deepEqual(names.slice(0, 2), ['host', 'accept']);
    assert.equal(names.filter((n) => n === 'traceparent').length, 1);
    assert.equal(names.includes('b3'), false, 'the unreadable single header is removed, multi headers are sent');
    const out = headerMap(headers);
    assert.equal(out['traceparent'], `00-${TRACE}-${ctx.spanId}-01`);
    assert.equal(out['x-b3-traceid'], TRACE);
    assert.equal(out['x-b3-spanid'], ctx.spanId);
  });
});
