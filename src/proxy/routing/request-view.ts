import type { RequestHead } from '../http/request-head.js';

/**
 * The parts of a request route matching reads, split once per request: path without query,
 * and the query parsed only if some route asks for it.
 */
export class RequestView {
  path = '';
  /** Lower-cased path, computed on demand for case-insensitive routes. */
  private lowerPath: string | undefined;
  private rawQuery = '';
  private query: Map<string, string> | undefined;
  head!: RequestHead;

  reset(head: RequestHead): void {
    this.head = head;
    const target = head.path;
    let end = target.indexOf('?');
    const hash = target.indexOf('#');
    if (hash >= 0 && (end < 0 || hash < end)) end = hash;
    this.path = end < 0 ? target : target.slice(0, end);
    this.rawQuery = end < 0 || target[end] !== '?' ? '' : target.slice(end + 1);
    this.lowerPath = undefined;
    this.query = undefined;
  }

  pathLower(): string {
    return (this.lowerPath ??= this.path.toLowerCase());
  }

  /** The first value of a query parameter, percent-decoded to wire bytes; undefined when absent. */
  queryParam(name: string): string | undefined {
    if (!this.query) this.query = parseQuery(this.rawQuery);
    return this.query.get(name);
  }

  /** A header's value as Envoy matches it: pseudo-headers from the head, repeated headers joined by ",". */
  header(name: string): string | undefined {
    const head = this.head;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (name === ':authority') return head.authority;
      if (name === ':path') return head.path;
      if (name === ':method') return head.method;
      if (name === ':scheme') return head.scheme;
      return undefined;
    }
    if (name === 'host') return head.authority;
    let value: string | undefined;
    const h = head.headers;
    for (let i = 0; i < h.length; i += 2) {
      if (h[i] === name) value = value === undefined ? h[i + 1] : `${value},${h[i + 1]}`;
    }
    return value;
  }
}

function parseQuery(raw: string): Map<string, string> {
  const out = new Map<string, string>();
  if (raw === '') return out;
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    if (!out.has(name)) out.set(name, eq < 0 ? '' : decode(pair.slice(eq + 1)));
  }
  return out;
}

const PERCENT_ESCAPE = /%([0-9a-fA-F]{2})/g;

/**
 * Each %XX becomes the byte it names, one Latin-1 character like every wire byte, so "caf%C3%A9" and a
 * raw "café" read the same; a malformed escape stays as it is rather than failing the request.
 */
function decode(s: string): string {
  if (s.indexOf('%') < 0 && s.indexOf('+') < 0) return s;
  return s.replaceAll('+', ' ').replace(PERCENT_ESCAPE, byteOfEscape);
}

function byteOfEscape(_escape: string, hex: string): string {
  return String.fromCharCode(parseInt(hex, 16));
}
