import { httpOk } from './http-ok.js';

/** "HTTP/1.X ": the status code starts there. */
const RETCODE_OFFSET = 9;

/** Fortio's ParseDecimal: leading spaces, then digits up to the first other byte; -1 for none. */
export function parseDecimal(bytes: Buffer): number {
  let res = -1;
  for (const b of bytes) {
    if (b === 0x20 && res === -1) continue;
    if (b < 0x30 || b > 0x39) break;
    res = res === -1 ? b - 0x30 : 10 * res + (b - 0x30);
  }
  return res;
}

/** Fortio's ParseChunkSize: [offset of the chunk's data, its size], or [_, -1] when the size line is not all there (or not hex). */
function parseChunkSize(bytes: Buffer): [number, number] {
  const lf = bytes.indexOf('\r\n');
  if (lf < 0) return [0, -1];
  let size = -1;
  for (const b of bytes.subarray(0, lf)) {
    const digit = b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x61 && b <= 0x66 ? b - 0x57 : b >= 0x41 && b <= 0x46 ? b - 0x37 : -1;
    if (digit < 0) break;
    size = size === -1 ? digit : size * 16 + digit;
  }
  return [lf + 2, size];
}

/** Case-insensitive search of `needle` (lower case) in `hay`. */
function foldFind(hay: Buffer, needle: string): number {
  return hay.toString('latin1').toLowerCase().indexOf(needle);
}

export interface FastResponseOptions {
  /** -httpbufferkb: the most of a response (head and body) the client reads, in KiB. */
  bufferKb: number;
  /** HTTP/1.1 with keep-alive: responses are framed by their length (HTTP/1.0 and -keepalive=false read to the close). */
  keepAlive: boolean;
  /** HTTP/1.1: the head is parsed (HTTP/1.0 is not: every response is a 200). */
  parseHeaders: boolean;
  /** -httpccch: a "Connection: close" response is read to the close (or a full buffer). */
  checkConnectionClosedHeader: boolean;
}

/**
 * Fortio's fast client reading one response into its fixed buffer (fhttp FastClient.readResponse):
 * the status from bytes 9-11, stop there if it is not OK; else the body framed by Content-Length or
 * chunks, or read to the close. What does not fit the buffer is not read: the call keeps the
 * buffer's bytes, and its kept connection still holds the rest.
 */
export class FortioFastResponse {
  readonly buffer: Buffer;
  size = 0;
  /** Fortio's HTTP/1.0 responses are not parsed: 200. */
  code = 200;
  headerLen = 0;
  /** Whether the connection may carry the next call. */
  keepAlive: boolean;
  /** Fortio's warnings and errors for this response ("Buffer is too small ..."). */
  readonly warnings: string[] = [];
  private maxV: number;
  private parsedHeaders = false;
  private endOfHeadersStart = RETCODE_OFFSET + 3;
  private chunked = false;

  constructor(private readonly o: FastResponseOptions) {
    this.buffer = Buffer.alloc(o.bufferKb * 1024);
    this.maxV = this.buffer.length;
    this.keepAlive = o.keepAlive;
  }

  /** The bytes of `chunk` that fit in the buffer (the socket keeps the rest, as Go's Read into a full slice would). */
  room(chunk: Buffer): Buffer {
    return chunk.subarray(0, Math.min(chunk.length, this.buffer.length - this.size));
  }

  /** Takes bytes read (at most room()); true when the response is complete. */
  read(bytes: Buffer): boolean {
    bytes.copy(this.buffer, this.size);
    this.size += bytes.length;
    return this.process();
  }

  /** The connection ended: a response with bytes ends there, one without is a socket error (-1). */
  ended(): void {
    if (this.size === 0) this.code = -1;
    this.keepAlive = false;
  }

  /** A read error or a timeout: -1, as Fortio's SocketError. */
  failed(): void {
    this.code = -1;
    this.keepAlive = false;
  }

  /** One pass of Fortio's read loop after a read (repeated when a chunk's end is already buffered). */
  private process(): boolean {
    for (;;) {
      if (!this.parsedHeaders && this.o.parseHeaders && this.size >= RETCODE_OFFSET + 3) {
        this.code = parseDecimal(this.buffer.subarray(RETCODE_OFFSET, RETCODE_OFFSET + 3));
        if (!httpOk(this.code)) {
          this.keepAlive = false;
          return true;
        }
        const head = this.parseHead();
        if (head !== 'read on') return head === 'done';
      }
      if (this.size < this.maxV) return false;
      if (!this.parsedHeaders && this.o.parseHeaders) {
        this.warnings.push(`Buffer too small to even finish reading headers, increase -httpbufferkb to get all the data (max ${this.maxV})`);
        this.keepAlive = false;
      } else if (!this.keepAlive) {
        this.warnings.push(`More data is available but stopping after max, increase -httpbufferkb (max ${this.maxV})`);
      }
      if (!this.chunked) return true;
      const [dataStart, next] = parseChunkSize(this.buffer.subarray(this.maxV, this.size));
      if (next === -1) return false;
      if (next === 0) return true;
      this.maxV += dataStart + next + 2;
      if (this.maxV > this.buffer.length) {
        this.warnings.push(`Buffer too small for data (size ${this.maxV})`);
        return true;
      }
      if (this.maxV > this.size) return false;
    }
  }

  /**
   * Looks for the end of the head; once found, sets where the response ends: 'read on' to go on
   * with the body, 'more' to wait for more of the head, 'done' when Fortio stops reading there.
   */
  private parseHead(): 'read on' | 'more' | 'done' {
    let idx = this.endOfHeadersStart;
    while (idx < this.size - 1) {
      if (this.buffer[idx] === 0x0d && this.buffer[idx + 1] === 0x0a) {
        if (this.headerLen === idx - 2) {
          this.parsedHeaders = true;
          break;
        }
        this.headerLen = idx;
        idx++;
      }
      idx++;
    }
    this.endOfHeadersStart = this.size;
    if (!this.parsedHeaders) return 'read on';
    this.headerLen += 4;
    if (!this.keepAlive) return 'read on';
    const head = this.buffer.subarray(0, this.headerLen);
    let contentLength: number;
    const at = foldFind(head, '\r\ncontent-length:');
    if (at >= 0) {
      contentLength = parseDecimal(head.subarray(at + '\r\ncontent-length:'.length));
      if (contentLength < 0) {
        this.warnings.push('Content-length unparsable');
        this.keepAlive = false;
        return 'done';
      }
      this.maxV = this.headerLen + contentLength;
    } else if (foldFind(head, '\r\ntransfer-encoding: chunked') >= 0) {
      this.chunked = true;
      const [dataStart, size] = parseChunkSize(this.buffer.subarray(this.headerLen, this.size));
      contentLength = size;
      if (size === -1) {
        this.maxV = this.headerLen;
        return 'more';
      }
      this.maxV = this.headerLen + dataStart + size + 2;
    } else {
      this.warnings.push(`Content-length missing (header_len ${this.headerLen})`);
      this.keepAlive = false;
      return 'done';
    }
    if (this.maxV > this.buffer.length) {
      this.warnings.push(`Buffer is too small for headers + data - change -httpbufferkb flag (buffer_needed ${Math.floor((this.headerLen + contentLength) / 1024) + 1} kb)`);
      this.maxV = this.buffer.length;
    }
    if (this.o.checkConnectionClosedHeader && foldFind(head, '\r\nconnection: close') >= 0) {
      this.keepAlive = false;
      this.maxV = this.buffer.length;
    }
    return 'read on';
  }
}
