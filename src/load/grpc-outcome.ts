import * as grpc from '@grpc/grpc-js';
import { SERVING_STATUS } from './grpc-services.js';

/*
 * A gRPC call's outcome travels as the number the recorder counts (and workers merge): a health
 * ServingStatus (0-3; a ping that answers is SERVING), -1 for a client timeout, and -100 - code for
 * a call that failed with a gRPC status. Negative outcomes are errors.
 */

export function grpcErrorOutcome(code: grpc.status): number {
  return -100 - code;
}

/** The RetCodes key Fortio writes: the ServingStatus name, or "ERROR" for any failed call. */
export function grpcRetCode(outcome: number): string {
  return outcome < 0 ? 'ERROR' : (SERVING_STATUS[outcome] ?? String(outcome));
}

/** A failed call as Go's gRPC error reads, without its description: "rpc error: code = Unavailable". */
export function grpcErrorText(outcome: number): string {
  return `rpc error: code = ${grpcErrorName(outcome).toLowerCase().replace(/(?:^|_)(\w)/g, (_, c: string) => c.toUpperCase())}`;
}

/** A call's details as Fortio's gRPC runner gives its access log: the serving status' name, or the error. */
export function grpcDetails(outcome: number): string {
  return outcome < 0 ? grpcErrorText(outcome) : grpcRetCode(outcome);
}

/** The gRPC status name of a failed call; a client -timeout is DEADLINE_EXCEEDED. */
export function grpcErrorName(outcome: number): string {
  if (outcome === -1) return 'DEADLINE_EXCEEDED';
  return grpc.status[-100 - outcome] ?? String(outcome);
}
