import type { HistogramLayout } from './latency-recorder.js';

/*
 * A tcp:// or udp:// call (Fortio's tcprunner and udprunner): a payload sent on a kept socket and
 * the same bytes read back from an echo server. Its outcome is "OK" or the error's text, which keys
 * the run's RetCodes; the runner counts it under the status ECHO_OK or ECHO_FAILED.
 */

/** What a tcp:// or udp:// connection needs besides its peer. */
export interface EchoConnectionOptions {
  /** -payload, -payload-file or -payload-size; empty for Fortio's generated payload per message. */
  payload: Buffer;
  /** The connection's index in the run: Fortio's thread, in the generated payload. */
  thread: number;
  layout: HistogramLayout;
}

export const ECHO_OK = 0;
export const ECHO_FAILED = -1;
export const OK_OUTCOME = 'OK';
/** Fortio's errors for a reply that is not the payload echoed. */
export const SHORT_READ = 'short read';
export const MISMATCH = 'read not echoing writes';

/**
 * Fortio's payload when none is given (tcprunner.GeneratePayload): 24 bytes unique to the thread
 * and the message, "Fortio\n0001\n000000000042", the message count starting at 1 with the warm-up.
 */
export function fortioEchoPayload(thread: number, message: number): Buffer {
  return Buffer.from(`Fortio\n${String(thread).padStart(4, '0')}\n${String(message).padStart(12, '0')}`, 'latin1');
}

/** Whether a run's call status is Fortio's "OK" for tcp:// and udp://. */
export function echoOk(status: number): boolean {
  return status === ECHO_OK;
}
