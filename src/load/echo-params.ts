import { parseDuration } from '../config/duration-text.js';

/** Longest delay and largest body the echo server agrees to, so a URL cannot tie it up or exhaust it. */
export const MAX_DELAY_MS = 10_000;
export const MAX_SIZE = 10 * 1024 * 1024;

/** What a request asks the echo server to do (Fortio's echo query parameters). */
export interface EchoBehaviour {
  delayMs: number;
  status: number;
  size: number | undefined;
  close: boolean;
  /** gzip=true: compress the response when the client accepts gzip. */
  gzip: boolean;
  headers: Array<[string, string]>;
}

export class EchoParamError extends Error {}

/**
 * `delay=10ms` or a weighted list `delay=10ms:50,100ms:5` (50% 10 ms, 5% 100 ms, else none);
 * `status=503` or `status=503:5,429:1`; `size=N` or `size=1024:10,512:5`; `close=true` or `close=5` (percent);
 * `gzip=true`; `header=name:value` (repeatable).
 */
export function echoBehaviour(query: URLSearchParams, random: () => number = Math.random): EchoBehaviour {
  const delay = query.get('delay');
  const status = query.get('status');
  const size = query.get('size');
  const b: EchoBehaviour = { delayMs: 0, status: 200, size: undefined, close: false, gzip: false, headers: [] };
  if (delay) b.delayMs = Math.min(pickWeighted(delay, random, parseDelay) ?? 0, MAX_DELAY_MS);
  if (status) b.status = pickWeighted(status, random, parseStatus) ?? 200;
  if (size !== null) b.size = pickWeighted(size, random, parseSize);
  b.close = pickClose(query.get('close'), random);
  const gzip = query.get('gzip');
  if (gzip !== null && gzip !== '' && gzip !== 'true' && gzip !== 'false') throw new EchoParamError(`gzip must be true or false, got "${gzip}"`);
  b.gzip = gzip === 'true';
  for (const h of query.getAll('header')) {
    const colon = h.indexOf(':');
    const name = colon > 0 ? h.slice(0, colon).trim().toLowerCase() : '';
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw new EchoParamError(`header must be name:value, got "${h}"`);
    const value = h.slice(colon + 1).trim();
    if (/[\r\n\0]/.test(value)) throw new EchoParamError('header values cannot contain line breaks');
    b.headers.push([name, value]);
  }
  return b;
}

function parseDelay(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new EchoParamError(`delay must be a duration like 10ms, got "${text}"`);
  return ms;
}

function parseSize(text: string): number {
  const n = Number(text);
  if (text === '' || !Number.isInteger(n) || n < 0) throw new EchoParamError(`size must be a whole number of bytes, got "${text}"`);
  return Math.min(n, MAX_SIZE);
}

/** Fortio's close=: "true" always, a number is the percent chance of closing. */
function pickClose(close: string | null, random: () => number): boolean {
  if (close === null || close === '' || close === 'false') return false;
  if (close === 'true') return true;
  const pct = Number(close);
  if (!Number.isFinite(pct) || pct < 0 || pct > 100) throw new EchoParamError(`close must be true, false or a percent, got "${close}"`);
  return random() * 100 < pct;
}

function parseStatus(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 100 || n > 599) throw new EchoParamError(`status must be 100-599, got "${text}"`);
  return n;
}

/** "v" alone always applies; "v1:p1,v2:p2" applies v1 with p1 % probability, and so on. */
function pickWeighted<T>(spec: string, random: () => number, parse: (s: string) => T): T | undefined {
  const parts = spec.split(',');
  if (parts.length === 1 && !parts[0]!.includes(':')) return parse(parts[0]!.trim());
  const roll = random() * 100;
  let acc = 0;
  let chosen: T | undefined;
  for (const part of parts) {
    const colon = part.lastIndexOf(':');
    if (colon < 0) throw new EchoParamError(`expected value:percent in "${spec}"`);
    const value = parse(part.slice(0, colon).trim());
    const pct = Number(part.slice(colon + 1));
    if (!Number.isFinite(pct) || pct < 0 || pct > 100) throw new EchoParamError(`percent must be 0-100 in "${spec}"`);
    if (chosen === undefined && roll < acc + pct) chosen = value;
    acc += pct;
  }
  if (acc > 100) throw new EchoParamError(`percentages add up to more than 100 in "${spec}"`);
  return chosen;
}
