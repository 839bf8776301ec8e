import { fortioSize } from './fortio-sizes.js';
import { LoadAbortedError } from './load-aborted-error.js';
import { grpcErrorText } from './grpc-outcome.js';
import { httpOk } from './http-ok.js';
import type { LoadConnection } from './load-connection.js';
import type { LoadOptions } from './load-options.js';

interface WarmupOutcome {
  status: number;
  /** The call's size as Fortio's client returns it (for the message). */
  size: number;
}

/**
 * Fortio's warm-up before a timed run (no -n): one call on each connection, counted nowhere, that
 * opens it for the run. HTTP connections warm up all at once, or one after another with
 * -sequential-warmup; gRPC channels and TCP and UDP clients one after another (fhttp/httprunner.go,
 * fgrpc/grpcrunner.go, tcprunner, udprunner). A call that fails (HTTP: a status that is not OK;
 * gRPC: an error) aborts the run with Fortio's message, unless -allow-initial-errors; a TCP or UDP
 * one never does. Resolves with the number of calls made.
 */
export async function warmUp(o: LoadOptions, conns: LoadConnection[]): Promise<number> {
  if (o.grpc || o.socketEcho || o.sequentialWarmup) {
    for (const [i, conn] of conns.entries()) check(o, i, await warmupCall(o, conn));
  } else {
    (await Promise.all(conns.map((conn) => warmupCall(o, conn)))).forEach((outcome, i) => check(o, i, outcome));
  }
  return conns.length;
}

/** One call outside the run, cut at -timeout as the run's calls are. */
function warmupCall(o: LoadOptions, conn: LoadConnection): Promise<WarmupOutcome> {
  return new Promise((resolve) => {
    const deadline = setTimeout(() => {
      conn.abort();
      resolve({ status: -1, size: fortioSize(o, -1, 0, 0) });
    }, o.timeoutMs);
    conn.call((status, bodyBytes, _headerBytes, wireBytes = bodyBytes) => {
      clearTimeout(deadline);
      resolve({ status, size: fortioSize(o, status, bodyBytes, wireBytes) });
    });
  });
}

function check(o: LoadOptions, i: number, { status, size }: WarmupOutcome): void {
  // Fortio's tcp and udp runners make the call and go on whatever it returned.
  if (o.allowInitialErrors || o.socketEcho) return;
  if (o.grpc) {
    // Go's error text for a gRPC status: "rpc error: code = Unavailable ...".
    if (status < 0) throw new LoadAbortedError(grpcErrorText(status));
    return;
  }
  if (httpOk(status)) return;
  const url = o.url.toString();
  throw new LoadAbortedError(o.sequentialWarmup ? `error ${status} for ${url} (${size} body bytes), thread# ${i}` : `error ${status} for ${url} (${size} bytes)`);
}
