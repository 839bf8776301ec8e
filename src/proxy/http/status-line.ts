import { STATUS_CODES } from 'node:http';

const cache = new Map<number, string>();

/** "200 OK": the status part of an HTTP/1.1 status line, cached per code. */
export function statusLine(status: number): string {
  let line = cache.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
    cache.set(status, line);
  }
  return line;
}
