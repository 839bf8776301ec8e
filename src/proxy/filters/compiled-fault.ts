import type { FractionalPercent, HttpFault } from '../../model/fault.js';
// Only a header's first value is read: these come from an untrusted caller, and Envoy reads only the first.
import { headerValue, type RequestHead } from '../http/request-head.js';
import type { RegexEngine } from '../routing/regex-engine.js';
import { MAX_TIMER_MS } from '../../util/max-timer.js';
import { RequestView } from '../routing/request-view.js';
import { compileHeaderChecks, headersMatch, type HeaderCheck } from '../routing/header-checks.js';

/** The header names a caller controls faults with (Envoy's, under header_abort and header_delay). */
const ABORT_REQUEST = 'x-envoy-fault-abort-request';
const ABORT_GRPC_REQUEST = 'x-envoy-fault-abort-grpc-request';
const ABORT_PERCENTAGE = 'x-envoy-fault-abort-request-percentage';
const DELAY_REQUEST = 'x-envoy-fault-delay-request';
const DELAY_PERCENTAGE = 'x-envoy-fault-delay-request-percentage';
const DOWNSTREAM_NODE = 'x-envoy-downstream-service-node';

const DIGITS = /^\d+$/;

/** An abort's statuses: the HTTP status, and for a gRPC abort its grpc-status (HTTP 200), as Envoy answers. */
export interface FaultAbortStatus {
  httpStatus: number;
  grpcStatus: number | undefined;
}

/**
 * One HTTPFault, compiled once per config: which requests it applies to, and for each its delay and
 * abort, drawn against the configured (or, with header control, the request's capped) percentage.
 */
export class CompiledFault {
  /** Faults active at once before more are let through untouched (Infinity: no limit). */
  readonly maxActiveFaults: number;
  readonly upstreamCluster: string | undefined;
  private readonly headerChecks: HeaderCheck[];
  private readonly downstreamNodes: ReadonlySet<string> | undefined;
  private readonly view = new RequestView();

  private constructor(private readonly fault: HttpFault, engine: RegexEngine) {
    this.maxActiveFaults = fault.maxActiveFaults ?? Infinity;
    this.upstreamCluster = fault.upstreamCluster;
    this.downstreamNodes = fault.downstreamNodes.length > 0 ? new Set(fault.downstreamNodes) : undefined;
    this.headerChecks = compileHeaderChecks(fault.headers, engine);
  }

  /** The compiled fault, or undefined when it injects nothing (neither delay nor abort): such a route pays nothing. */
  static of(fault: HttpFault, engine: RegexEngine): CompiledFault | undefined {
    return fault.delay === undefined && fault.abort === undefined ? undefined : new CompiledFault(fault, engine);
  }

  /** The request is one this fault is for: its downstream node and headers (the cluster is the caller's to check). */
  appliesTo(head: RequestHead): boolean {
    if (this.downstreamNodes !== undefined) {
      const node = headerValue(head.headers, DOWNSTREAM_NODE);
      if (node === undefined || !this.downstreamNodes.has(node)) return false;
    }
    if (this.headerChecks.length === 0) return true;
    const view = this.view;
    view.reset(head);
    return headersMatch(this.headerChecks, view);
  }

  /** The delay for this request in ms, drawn against its percentage; 0 for none. */
  delayMs(head: RequestHead): number {
    const delay = this.fault.delay;
    if (delay === undefined) return 0;
    if (!drawn(delay.headerDelay ? headerPercentage(head, DELAY_PERCENTAGE, delay.percentage) : delay.percentage)) return 0;
    if (!delay.headerDelay) return delay.fixedDelay!;
    const ms = headerValue(head.headers, DELAY_REQUEST);
    // Capped at what a timer holds: past it Node would fire at once.
    return ms !== undefined && DIGITS.test(ms) ? Math.min(Number(ms), MAX_TIMER_MS) : 0;
  }

  /** The abort for this request, drawn against its percentage; undefined for none. */
  abortStatus(head: RequestHead): FaultAbortStatus | undefined {
    const abort = this.fault.abort;
    if (abort === undefined) return undefined;
    if (!drawn(abort.headerAbort ? headerPercentage(head, ABORT_PERCENTAGE, abort.percentage) : abort.percentage)) return undefined;
    if (abort.httpStatus !== undefined) return { httpStatus: abort.httpStatus, grpcStatus: undefined };
    if (abort.grpcStatus !== undefined) return { httpStatus: 200, grpcStatus: abort.grpcStatus };
    // Header control: the HTTP status wins over the gRPC one; a value out of range is no abort.
    const http = headerValue(head.headers, ABORT_REQUEST);
    if (http !== undefined && DIGITS.test(http)) {
      const status = Number(http);
      return status >= 200 && status < 600 ? { httpStatus: status, grpcStatus: undefined } : undefined;
    }
    const grpc = headerValue(head.headers, ABORT_GRPC_REQUEST);
    if (grpc !== undefined && DIGITS.test(grpc) && Number(grpc) <= 16) return { httpStatus: 200, grpcStatus: Number(grpc) };
    return undefined;
  }
}

/** True with the given probability: Math.random is V8's xorshift128+, a few instructions per draw. */
function drawn(p: FractionalPercent): boolean {
  return p.numerator > 0 && Math.random() * p.denominator < p.numerator;
}

/** A request's own percentage (its header's numerator), capped by the configured one and over its denominator, as Envoy reads it. */
function headerPercentage(head: RequestHead, name: string, configured: FractionalPercent): FractionalPercent {
  const value = headerValue(head.headers, name);
  if (value === undefined || !DIGITS.test(value)) return configured;
  return { numerator: Math.min(Number(value), configured.numerator), denominator: configured.denominator };
}
