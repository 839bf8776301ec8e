import type { AccessLog } from '../model/listener.js';
import { noReads, type AccessLogReads } from '../telemetry/access-log-reads.js';
import { compileAccessLogFormat } from '../telemetry/access-log-template.js';

/** Per access log list of a config version: a TCP proxy asks on every connection. */
const cache = new WeakMap<readonly AccessLog[], AccessLogReads>();

/** What a connection manager's or TCP proxy's access log formats read beyond the record (the built-in layout reads nothing more). */
export function accessLogReads(logs: readonly AccessLog[]): AccessLogReads {
  let reads = cache.get(logs);
  if (reads === undefined) {
    reads = noReads();
    for (const log of logs) if (log.format !== undefined) compileAccessLogFormat(log.format, reads);
    cache.set(logs, reads);
  }
  return reads;
}
