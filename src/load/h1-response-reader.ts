import { parseDecimal } from './fortio-fast-response.js';
import { isGzipEncoding } from './gzip-response.js';

const CRLFCRLF = Buffer.from('\r\n\r\n');

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
}

/** The minimum of HTTP/1.1 response parsing a load client needs: status, body size, reuse. */
export class H1ResponseReader {
  private state = State.Head;
  private head: Buffer | undefined;
  private remaining = 0;
  private sizeLine = '';
  status = 0;
  bodyBytes = 0;
  /** The response head's bytes, status line to the blank line included (Fortio's header size). */
  headerBytes = 0;
  /** The response's bytes as they came on the wire: head, body and any chunked framing (and 1xx heads). */
  wireBytes = 0;
  keepAlive = true;
  /** The response's Location header, as given (for -L). */
  location: string | undefined;
  /** Set by the caller for HEAD requests (no body whatever the headers say). */
  expectNoBody = false;
  /** Set by the caller to keep a gzip-encoded body (-compression), whose decompressed size counts. */
  keepGzipBody = false;
  /** The body of a gzip-encoded response, when keepGzipBody. */
  gzipBody: Buffer[] | undefined;
  /** Fortio's fast client buffer (-httpbufferkb): a response reads no more bytes than this (Infinity: no limit). */
  limit = Infinity;
  /** -httpccch: a "Connection: close" response reads to the close (Fortio's fast client). */
  readToCloseOnConnectionClose = false;
  /** The response filled the limit before its end: it ends there, the rest of it left unread. */
  truncated = false;

  reset(): void {
    this.state = State.Head;
    this.head = undefined;
    this.status = 0;
    this.bodyBytes = 0;
    this.headerBytes = 0;
    this.wireBytes = 0;
    this.keepAlive = true;
    this.location = undefined;
    this.gzipBody = undefined;
    this.sizeLine = '';
    this.truncated = false;
  }

  /** True while a response reads until the connection closes (no length, not chunked). */
  get untilClose(): boolean {
    return this.state === State.UntilClose;
  }

  /**
   * Feeds bytes; returns the offset just past a completed response, or -1 when more is needed.
   * Throws on a malformed response.
   */
  feed(chunk: Buffer, offset: number): number {
    // Past the limit, bytes stay unread, as past the end of Fortio's buffer.
    const stop = Math.min(chunk.length, offset + (this.limit - this.wireBytes));
    const view = stop < chunk.length ? chunk.subarray(0, stop) : chunk;
    const end = this.parse(view, offset);
    this.wireBytes += (end < 0 ? view.length : end) - offset;
    if (end >= 0 || this.wireBytes < this.limit) return end;
    this.truncated = true;
    if (this.state === State.Head) {
      // Fortio had the status (bytes 9-11) but not the end of the head: it closes the connection.
      this.status = parseDecimal((this.head ?? Buffer.alloc(0)).subarray(9, 12));
      this.keepAlive = false;
    }
    if (this.state === State.UntilClose) this.keepAlive = false;
    this.state = State.Head;
    this.head = undefined;
    return stop;
  }

  private parse(chunk: Buffer, offset: number): number {
    let i = offset;
    while (i < chunk.length || this.state === State.Head) {
      switch (this.state) {
        case State.Head: {
          const buf = this.head ? Buffer.concat([this.head, chunk.subarray(i)]) : chunk.subarray(i);
          const end = buf.indexOf(CRLFCRLF);
          if (end < 0) {
            if (buf.length > 64 * 1024) throw new Error('response head over 64 KiB');
            this.head = Buffer.from(buf);
            return -1;
          }
          const consumedFromChunk = end + 4 - (this.head ? this.head.length : 0);
          this.parseHead(buf.toString('latin1', 0, end));
          this.headerBytes = end + 4;
          this.head = undefined;
          i += consumedFromChunk;
          if (this.status >= 100 && this.status < 200 && this.status !== 101) {
            this.state = State.Head;
            continue;
          }
          if (this.state === State.Head) return i;
          break;
        }
        case State.Length: {
          const take = Math.min(this.remaining, chunk.length - i);
          this.remaining -= take;
          this.bodyBytes += take;
          this.gzipBody?.push(chunk.subarray(i, i + take));
          i += take;
          if (this.remaining === 0) {
            this.state = State.Head;
            return i;
          }
          break;
        }
        case State.ChunkSize: {
          const lf = chunk.indexOf(10, i);
          if (lf < 0) {
            this.sizeLine += chunk.toString('latin1', i);
            if (this.sizeLine.length > 1024) throw new Error('chunk size line too long');
            return -1;
          }
          const line = (this.sizeLine + chunk.toString('latin1', i, lf)).trim();
          this.sizeLine = '';
          i = lf + 1;
          const size = parseInt(line.split(';')[0]!, 16);
          if (!Number.isFinite(size) || size < 0) throw new Error(`malformed chunk size "${line}"`);
          if (size === 0) this.state = State.Trailers;
          else {
            this.remaining = size;
            this.state = State.ChunkData;
          }
          break;
        }
        case State.ChunkData: {
          const take = Math.min(this.remaining, chunk.length - i);
          this.remaining -= take;
          this.bodyBytes += take;
          this.gzipBody?.push(chunk.subarray(i, i + take));
          i += take;
          if (this.remaining === 0) {
            this.state = State.ChunkDataEnd;
            this.remaining = 2;
          }
          break;
        }
        case State.ChunkDataEnd: {
          const take = Math.min(this.remaining, chunk.length - i);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          // Trailer lines until an empty line.
          const lf = chunk.indexOf(10, i);
          if (lf < 0) {
            this.sizeLine += chunk.toString('latin1', i);
            return -1;
          }
          const line = (this.sizeLine + chunk.toString('latin1', i, lf)).trim();
          this.sizeLine = '';
          i = lf + 1;
          if (line === '') {
            this.state = State.Head;
            return i;
          }
          break;
        }
        case State.UntilClose:
          this.bodyBytes += chunk.length - i;
          this.gzipBody?.push(chunk.subarray(i));
          return -1;
      }
    }
    return -1;
  }

  private parseHead(head: string): void {
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(head);
    if (!m) throw new Error(`malformed status line "${head.slice(0, 40)}"`);
    this.status = Number(m[2]);
    const http10 = m[1] === '0';
    let length = -1;
    let chunked = false;
    let close = http10;
    let encoding: string | undefined;
    for (const line of head.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      if (name === 'location') this.location = line.slice(colon + 1).trim();
      const value = line.slice(colon + 1).trim().toLowerCase();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding') chunked = value.endsWith('chunked');
      else if (name === 'content-encoding') encoding = value;
      else if (name === 'connection') close = value.includes('close') || (http10 && !value.includes('keep-alive'));
    }
    this.keepAlive = !close;
    // Fortio's -httpccch: "Connection: close" (its case-folded prefix) reads to the close whatever the length says.
    if (this.readToCloseOnConnectionClose && /\r\nconnection: close/i.test(head) && !this.expectNoBody) {
      this.gzipBody = undefined;
      this.state = State.UntilClose;
      this.keepAlive = false;
      return;
    }
    this.gzipBody = this.keepGzipBody && isGzipEncoding(encoding) ? [] : undefined;
    const noBody = this.expectNoBody || this.status === 204 || this.status === 304 || (this.status >= 100 && this.status < 200);
    if (noBody) this.state = State.Head;
    else if (chunked) this.state = State.ChunkSize;
    else if (length > 0) {
      this.remaining = length;
      this.state = State.Length;
    } else if (length === 0) this.state = State.Head;
    else {
      this.state = State.UntilClose;
      this.keepAlive = false;
    }
  }
}
