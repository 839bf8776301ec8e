/**
 * What a proxy hop does with trace headers: continue the incoming trace with a new span for
 * this hop, or start one when none came (or what came is invalid), and send W3C and B3 headers
 * that agree with each other. When both came and disagree, the W3C traceparent wins.
 */
import { parseB3Multi, parseB3Single, type B3Context } from './b3-headers.js';
import { randomHex } from './random-ids.js';
import { formatTraceparent, isValidTracestate, parseTraceparent } from './w3c-trace-context.js';

/** The trace headers of an incoming request (first value of each; tracestate headers joined with ","). */
export interface IncomingTraceHeaders {
  traceparent?: string;
  tracestate?: string;
  b3?: string;
  xB3TraceId?: string;
  xB3SpanId?: string;
  xB3ParentSpanId?: string;
  xB3Sampled?: string;
  xB3Flags?: string;
}

/** This hop's place in a trace. */
export interface TraceContext {
  /** 32 hex characters. */
  traceId: string;
  /** The span this hop creates: 16 hex characters, sent as the parent to the upstream. */
  spanId: string;
  /** The caller's span, when the trace came in. */
  parentSpanId: string | undefined;
  sampled: boolean;
  /** B3 debug flag, kept when it came in. */
  debug: boolean;
  /** Forwarded only with a valid incoming traceparent, and only when valid itself. */
  tracestate: string | undefined;
  /** The trace id as B3 headers carry it: a 64-bit id that came in over B3 stays 16 characters. */
  b3TraceId: string;
  /** Send the single `b3` header when that is the form that came in; otherwise the x-b3-* headers. */
  b3Single: boolean;
  /** True when this hop started the trace. */
  started: boolean;
}

/** Every header name this module reads or writes, lower-case: remove them before adding traceHeaders(). */
export const TRACE_HEADER_NAMES: readonly string[] = [
  'traceparent',
  'tracestate',
  'b3',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
];

/**
 * Continues the incoming trace, or starts one. `sampleNewTrace` is the sampling decision used when
 * none came in (a new trace, or a B3 context that deferred the decision).
 */
export function continueTrace(incoming: IncomingTraceHeaders, sampleNewTrace: boolean): TraceContext {
  const spanId = randomHex(8);
  const w3c = incoming.traceparent === undefined ? undefined : parseTraceparent(incoming.traceparent);
  const found = readB3(incoming);
  const b3 = found?.context;
  const b3Single = found?.single ?? false;
  if (w3c !== undefined) {
    // B3 keeps its own (possibly 64-bit) form of the id only when it names the same trace.
    const b3Same = b3?.traceId !== undefined && widen(b3.traceId) === w3c.traceId;
    const tracestate = incoming.tracestate !== undefined && incoming.tracestate !== '' && isValidTracestate(incoming.tracestate) ? incoming.tracestate : undefined;
    return {
      traceId: w3c.traceId,
      spanId,
      parentSpanId: w3c.parentId,
      sampled: w3c.sampled,
      debug: b3Same && b3.debug,
      tracestate,
      b3TraceId: b3Same ? b3.traceId! : w3c.traceId,
      b3Single,
      started: false,
    };
  }
  if (b3 !== undefined && b3.traceId !== undefined) {
    return {
      traceId: widen(b3.traceId),
      spanId,
      parentSpanId: b3.spanId,
      sampled: b3.sampled ?? sampleNewTrace,
      debug: b3.debug,
      tracestate: undefined,
      b3TraceId: b3.traceId,
      b3Single,
      started: false,
    };
  }
  // Nothing usable came in; a B3 sampling-only header still decides sampling.
  const traceId = randomHex(16);
  return {
    traceId,
    spanId,
    parentSpanId: undefined,
    sampled: b3?.sampled ?? sampleNewTrace,
    debug: b3?.debug ?? false,
    tracestate: undefined,
    b3TraceId: traceId,
    b3Single,
    started: true,
  };
}

/** The trace headers to send upstream, flat [name, value, ...] like RequestHead.headers. */
export function traceHeaders(ctx: TraceContext): string[] {
  const out: string[] = [];
  appendTraceHeaders(ctx, formatTraceparent(ctx.traceId, ctx.spanId, ctx.sampled), out);
  return out;
}

/** Appends the trace headers to send upstream to `out`; `traceparent` is formatTraceparent() of ctx. */
function appendTraceHeaders(ctx: TraceContext, traceparent: string, out: string[]): void {
  out.push('traceparent', traceparent);
  if (ctx.tracestate !== undefined) out.push('tracestate', ctx.tracestate);
  const sampling = ctx.debug ? 'd' : ctx.sampled ? '1' : '0';
  if (ctx.b3Single) {
    out.push('b3', ctx.b3TraceId + '-' + ctx.spanId + '-' + sampling + (ctx.parentSpanId !== undefined ? '-' + ctx.parentSpanId : ''));
    return;
  }
  out.push('x-b3-traceid', ctx.b3TraceId, 'x-b3-spanid', ctx.spanId);
  if (ctx.parentSpanId !== undefined) out.push('x-b3-parentspanid', ctx.parentSpanId);
  if (ctx.debug) out.push('x-b3-flags', '1');
  else out.push('x-b3-sampled', sampling);
}

/**
 * The whole hop on a flat [name, value, ...] header array (lower-case names): reads the incoming
 * trace headers, removes them in place, appends the ones to send upstream, and returns the context
 * (for the access log's traceparent / trace_id).
 */
export function rewriteTraceHeaders(headers: string[], sampleNewTrace: boolean): TraceContext {
  return rewriteTraceHeadersWith(headers, sampleNewTrace).ctx;
}

/** rewriteTraceHeaders, also returning the traceparent it sent (formatted once, for the access log). */
export function rewriteTraceHeadersWith(headers: string[], sampleNewTrace: boolean): { ctx: TraceContext; traceparent: string } {
  const incoming = readTraceHeaders(headers);
  const ctx = continueTrace(incoming, sampleNewTrace);
  if (anyTraceHeader(incoming)) {
    let kept = 0;
    for (let i = 0; i < headers.length; i += 2) {
      if (TRACE_HEADER_NAMES.includes(headers[i]!)) continue;
      headers[kept] = headers[i]!;
      headers[kept + 1] = headers[i + 1]!;
      kept += 2;
    }
    headers.length = kept;
  }
  const traceparent = formatTraceparent(ctx.traceId, ctx.spanId, ctx.sampled);
  appendTraceHeaders(ctx, traceparent, headers);
  return { ctx, traceparent };
}

/** Collects the trace headers from a flat [name, value, ...] array (lower-case names) in one pass. */
export function readTraceHeaders(headers: readonly string[]): IncomingTraceHeaders {
  const h: IncomingTraceHeaders = {};
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    // Every trace header starts with 't', 'b' or 'x-b3-': skip the rest after one character test.
    const c = name.charCodeAt(0);
    if (c !== 0x74 && c !== 0x62 && c !== 0x78) continue;
    const value = headers[i + 1]!;
    switch (name) {
      case 'traceparent':
        h.traceparent ??= value;
        break;
      case 'tracestate':
        h.tracestate = h.tracestate === undefined ? value : h.tracestate + ',' + value;
        break;
      case 'b3':
        h.b3 ??= value;
        break;
      case 'x-b3-traceid':
        h.xB3TraceId ??= value;
        break;
      case 'x-b3-spanid':
        h.xB3SpanId ??= value;
        break;
      case 'x-b3-parentspanid':
        h.xB3ParentSpanId ??= value;
        break;
      case 'x-b3-sampled':
        h.xB3Sampled ??= value;
        break;
      case 'x-b3-flags':
        h.xB3Flags ??= value;
        break;
    }
  }
  return h;
}

/** Some trace header came in, so the request's own must be removed before this hop's go in. */
function anyTraceHeader(h: IncomingTraceHeaders): boolean {
  return (
    h.traceparent !== undefined || h.tracestate !== undefined || h.b3 !== undefined || h.xB3TraceId !== undefined ||
    h.xB3SpanId !== undefined || h.xB3ParentSpanId !== undefined || h.xB3Sampled !== undefined || h.xB3Flags !== undefined
  );
}

/** A 64-bit B3 trace id is the low half of a 128-bit W3C one. */
function widen(b3TraceId: string): string {
  return b3TraceId.length === 16 ? '0000000000000000' + b3TraceId : b3TraceId;
}

/** The single header wins over the multi headers when both are present and valid, as B3's spec says. */
function readB3(incoming: IncomingTraceHeaders): { context: B3Context; single: boolean } | undefined {
  if (incoming.b3 !== undefined) {
    const single = parseB3Single(incoming.b3);
    if (single !== undefined) return { context: single, single: true };
  }
  if (incoming.xB3TraceId === undefined && incoming.xB3SpanId === undefined && incoming.xB3Sampled === undefined && incoming.xB3Flags === undefined) return undefined;
  const multi = parseB3Multi({
    traceId: incoming.xB3TraceId,
    spanId: incoming.xB3SpanId,
    parentSpanId: incoming.xB3ParentSpanId,
    sampled: incoming.xB3Sampled,
    flags: incoming.xB3Flags,
  });
  return multi === undefined ? undefined : { context: multi, single: false };
}
