import { proxyLogger } from '../proxy-log.js';
import { HttpParseError } from './h1-parser.js';

const httpLog = proxyLogger('http');

/**
 * The HTTP/1.1 parsers' callbacks run the proxy's own request logic, so a throw from that logic lands in
 * the same catch as a peer's malformed bytes. A peer's error is expected and answered; anything else is
 * a fault in this proxy, logged with its stack so that it is never taken for bad input and goes unseen.
 */
export function logIfInternal(err: unknown, side: 'request' | 'response'): void {
  if (err instanceof HttpParseError) return;
  httpLog('error', `internal error while handling an HTTP/1.1 ${side}`, { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
}
