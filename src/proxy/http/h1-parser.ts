/**
 * A strict HTTP/1.1 message parser for requests (downstream) and responses (upstream).
 *
 * Strict where leniency enables request smuggling (RFC 9112 §6.3, §11.2): Content-Length
 * together with Transfer-Encoding, duplicate or malformed Content-Length, obs-fold, bare LF,
 * whitespace before the colon, control bytes. Fast where it matters: one pass over the head
 * with table lookups, bodies handed on as zero-copy subarrays, state in fields, no closures.
 */

import { latin1Text } from '../../util/buffer-text.js';
import { knownHeaderName } from './known-header-names.js';
import { readBytes } from './read-slab.js';

/** Why a message could not be parsed, with the status a server should answer with. */
export class HttpParseError extends Error {
  override name = 'HttpParseError';
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export interface H1Limits {
  /** Request line + headers; beyond it a request gets 431. */
  maxHeaderBytes: number;
  maxHeaders: number;
}

/** One parsed message head. Request fields are empty for responses and vice versa. */
export interface H1Head {
  method: string;
  target: string;
  statusCode: number;
  statusText: string;
  versionMinor: number;
  /** Flat [name, value, ...]; names lower-cased, values with surrounding whitespace trimmed. */
  headers: string[];
  /** -1 when absent. */
  contentLength: number;
  chunked: boolean;
  /** The sender asked to close after this message (Connection: close, or HTTP/1.0 without keep-alive). */
  connectionClose: boolean;
  /** Connection: upgrade together with an Upgrade header (or CONNECT): the bytes after the head may be a tunnel. */
  upgrade: boolean;
  /** Response bodies with neither length nor chunking run until the connection closes. */
  bodyUntilClose: boolean;
}

/** Receives parser events; calls happen synchronously inside execute()/resume(). */
export interface H1Sink {
  onHead(head: H1Head): void;
  onBody(chunk: Buffer): void;
  onMessageComplete(trailers: string[] | undefined): void;
}

const enum State {
  Head,
  BodyLength,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  BodyUntilClose,
  Tunnel,
  Dead,
}

const CR = 13;
const LF = 10;
const MAX_CHUNK_LINE = 4096;
const MAX_CONTENT_LENGTH = Number.MAX_SAFE_INTEGER;

/** tchar per RFC 9110 §5.6.2. */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;

/** field-vchar, SP, HTAB and obs-text: anything but other controls (CR and LF included) and DEL. */
function isFieldValueByte(c: number): boolean {
  return c >= 0x20 ? c !== 0x7f : c === 0x09;
}

/** request-target bytes: visible ASCII only. */
const TARGET = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) TARGET[c] = 1;

const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = 10 + c;
  HEX[0x61 + c] = 10 + c;
}

const EMPTY = Buffer.alloc(0);
/** A byte needle: a string one is converted to bytes again on every search. */
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

export class H1Parser {
  private state = State.Head;
  private buffered: Buffer = EMPTY;
  /**
   * A partial head kept in `buffered`, already searched to its end for the CRLFCRLF (and bare LFs)
   * without a find: the next read's search starts near its end, not again at its start.
   */
  private searchedHead: Buffer | undefined;
  /** Where `run` may begin that search in the bytes it was given (set by execute for its first head). */
  private headSearchFrom = 0;
  /** A buffer with room after the partial head it holds, so the next read is appended in place. */
  private growable: Buffer | undefined;
  private paused = false;
  private executing = false;
  private remaining = 0;
  private trailerBytes = 0;
  private trailers: string[] | undefined = undefined;
  /** Set by the caller before a response arrives: HEAD requests and CONNECT change response framing. */
  expectNoBody = false;
  /** Messages parsed so far on this connection. */
  messages = 0;

  constructor(
    private readonly kind: 'request' | 'response',
    private readonly limits: H1Limits,
    private readonly sink: H1Sink,
  ) {}

  /** Stops delivering events after the current one; unparsed bytes are kept for resume(). */
  pause(): void {
    this.paused = true;
  }

  isPaused(): boolean {
    return this.paused;
  }

  /** Bytes held for later: kept by pause(), or a partial head or line. */
  get bufferedBytes(): number {
    return this.buffered.length;
  }

  /** True between messages: no partial head or body is pending. */
  isIdle(): boolean {
    return this.state === State.Head && this.buffered.length === 0;
  }

  /** Continues with bytes kept by pause(). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const pending = this.buffered;
    this.buffered = EMPTY;
    if (pending.length > 0) this.execute(pending);
  }

  /** Hands over the bytes after a head whose connection became a tunnel (Upgrade, CONNECT, 101). */
  takeTunnelBytes(): Buffer {
    const rest = this.buffered;
    this.buffered = EMPTY;
    this.state = State.Tunnel;
    return rest;
  }

  /** Tells the parser the peer closed; completes a read-until-close body, else reports truncation. */
  finish(): void {
    if (this.state === State.BodyUntilClose) {
      this.state = State.Head;
      this.sink.onMessageComplete(undefined);
      return;
    }
    if (this.state !== State.Head || this.buffered.length > 0) {
      if (this.state !== State.Tunnel && this.state !== State.Dead) {
        this.state = State.Dead;
        throw new HttpParseError(400, 'connection closed in the middle of a message');
      }
    }
  }

  /**
   * Parses as much of `chunk[0, length)` as possible; throws HttpParseError on malformed input.
   * Bytes past `length` are not the message's (a read slab's tail): nothing reads or keeps them.
   */
  execute(chunk: Buffer, length = chunk.length): void {
    if (this.state === State.Dead) return;
    if (this.paused || this.executing) {
      const bytes = readBytes(chunk, length);
      this.buffered = this.buffered.length === 0 ? bytes : Buffer.concat([this.buffered, bytes]);
      return;
    }
    let buf = chunk;
    let len = length;
    if (this.buffered.length > 0) {
      // A head dribbled in small reads is searched and copied once in all, not once per read.
      this.headSearchFrom = this.buffered === this.searchedHead ? Math.max(0, this.buffered.length - 3) : 0;
      buf = this.appendToBuffered(chunk, length);
      len = buf.length;
      this.buffered = EMPTY;
    }
    this.searchedHead = undefined;
    this.executing = true;
    try {
      this.run(buf, len);
    } catch (err) {
      this.state = State.Dead;
      throw err;
    } finally {
      this.executing = false;
      // The room is kept only while a partial head sits at its start; an idle connection keeps none.
      const room = this.growable;
      if (room !== undefined && (this.buffered.buffer !== room.buffer || this.buffered.byteOffset !== room.byteOffset)) this.growable = undefined;
    }
  }

  /**
   * `buffered` followed by chunk[0, length). A partial head is appended in place when the buffer it
   * starts has room (allocated with room to double); that buffer holds nothing handed out yet, since
   * a run that consumed bytes leaves its remainder at an offset.
   */
  private appendToBuffered(chunk: Buffer, length: number): Buffer {
    const held = this.buffered;
    const room = this.growable;
    const total = held.length + length;
    if (room !== undefined && held.buffer === room.buffer && held.byteOffset === room.byteOffset && total <= room.length) {
      chunk.copy(room, held.length, 0, length);
      return room.subarray(0, total);
    }
    const next = Buffer.allocUnsafe(Math.max(total * 2, 1024));
    held.copy(next, 0);
    chunk.copy(next, held.length, 0, length);
    this.growable = this.state === State.Head ? next : undefined;
    return next.subarray(0, total);
  }

  private run(buf: Buffer, len: number): void {
    let pos = 0;
    while (pos < len) {
      if (this.paused) {
        this.buffered = buf.subarray(pos, len);
        return;
      }
      switch (this.state) {
        case State.Head: {
          // RFC 9112 §2.2: empty lines before a request line are ignored (some clients send CRLF after a body).
          if (this.kind === 'request') {
            pos = skipEmptyLines(buf, pos, len);
            if (pos === len) return;
          }
          // Bytes searched at an earlier read (only for a head that starts where this read's bytes do).
          const searched = pos === 0 ? this.headSearchFrom : 0;
          this.headSearchFrom = 0;
          const end = findHeadEnd(buf, pos + searched, len);
          if (end < 0) {
            if (len - pos > this.limits.maxHeaderBytes) throw this.headTooLarge();
            // A head with bare LF line endings never ends in CRLFCRLF: refuse it now rather than time out.
            if (hasBareLf(buf, pos, pos + searched, len)) throw new HttpParseError(this.kind === 'request' ? 400 : 502, 'bare LF in message head');
            this.buffered = buf.subarray(pos, len);
            this.searchedHead = this.buffered;
            return;
          }
          if (end - pos > this.limits.maxHeaderBytes) throw this.headTooLarge();
          const head = this.parseHead(buf, pos, end);
          pos = end + 4;
          this.messages++;
          this.beginBody(head);
          this.sink.onHead(head);
          if (this.state === State.Head) {
            // An interim (1xx) response leaves the final one still to come: a HEAD's, still bodiless.
            if (head.statusCode >= 100 && head.statusCode < 200) this.sink.onMessageComplete(undefined);
            else this.complete(undefined);
          }
          break;
        }
        case State.BodyLength: {
          const take = Math.min(this.remaining, len - pos);
          this.remaining -= take;
          const piece = buf.subarray(pos, pos + take);
          pos += take;
          if (this.remaining === 0) this.state = State.Head;
          this.sink.onBody(piece);
          if (this.state === State.Head) this.complete(undefined);
          break;
        }
        case State.ChunkSize: {
          const lf = lineFeed(buf, pos, len);
          if (lf < 0) {
            if (len - pos > MAX_CHUNK_LINE) throw new HttpParseError(400, 'chunk size line too long');
            this.buffered = buf.subarray(pos, len);
            return;
          }
          this.remaining = parseChunkSize(buf, pos, lf);
          pos = lf + 1;
          if (this.remaining === 0) {
            this.state = State.Trailers;
            this.trailerBytes = 0;
            this.trailers = undefined;
          } else this.state = State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const take = Math.min(this.remaining, len - pos);
          this.remaining -= take;
          const piece = buf.subarray(pos, pos + take);
          pos += take;
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          this.sink.onBody(piece);
          break;
        }
        case State.ChunkDataEnd: {
          if (len - pos < 2) {
            this.buffered = buf.subarray(pos, len);
            return;
          }
          if (buf[pos] !== CR || buf[pos + 1] !== LF) throw new HttpParseError(400, 'chunk data not followed by CRLF');
          pos += 2;
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          const lf = lineFeed(buf, pos, len);
          if (lf < 0) {
            if (this.trailerBytes + len - pos > this.limits.maxHeaderBytes) throw new HttpParseError(431, 'trailers too large');
            this.buffered = buf.subarray(pos, len);
            return;
          }
          if (lf === pos || buf[lf - 1] !== CR) throw new HttpParseError(400, 'bare LF in trailers');
          this.trailerBytes += lf + 1 - pos;
          if (this.trailerBytes > this.limits.maxHeaderBytes) throw new HttpParseError(431, 'trailers too large');
          if (lf - 1 === pos) {
            pos = lf + 1;
            this.state = State.Head;
            this.complete(this.trailers);
            break;
          }
          this.trailers ??= [];
          // The line ends in CRLF (checked above), so the scan stops inside it.
          pos = parseFieldLine(buf, pos, this.trailers, latin1Text(buf, pos, lf - 1), pos);
          const name = this.trailers[this.trailers.length - 2];
          // Framing fields in trailers frame nothing (RFC 9110 §6.5.1), but a next hop that merges
          // trailers into the head might read them: refused, as llhttp does.
          if (name === 'content-length' || name === 'transfer-encoding') throw this.framingError(`${name} in trailers`);
          break;
        }
        case State.BodyUntilClose:
          this.sink.onBody(pos === 0 && len === buf.length ? buf : buf.subarray(pos, len));
          return;
        case State.Tunnel:
          this.buffered = buf.subarray(pos, len);
          return;
        case State.Dead:
          return;
      }
    }
  }

  private complete(trailers: string[] | undefined): void {
    this.expectNoBody = false;
    this.sink.onMessageComplete(trailers);
  }

  private headTooLarge(): HttpParseError {
    return this.kind === 'request'
      ? new HttpParseError(431, 'request header fields too large')
      : new HttpParseError(502, 'upstream response head too large');
  }

  private beginBody(head: H1Head): void {
    if (this.kind === 'response') {
      const s = head.statusCode;
      if (this.expectNoBody || (s >= 100 && s < 200) || s === 204 || s === 304) {
        this.state = s === 101 ? State.Tunnel : State.Head;
        return;
      }
    }
    if (head.chunked) this.state = State.ChunkSize;
    else if (head.contentLength > 0) {
      this.state = State.BodyLength;
      this.remaining = head.contentLength;
    } else if (head.bodyUntilClose) this.state = State.BodyUntilClose;
    else this.state = State.Head;
  }

  private parseHead(buf: Buffer, start: number, end: number): H1Head {
    // Responses too: an upstream's stray CRLF after a body is tolerated as before.
    start = skipEmptyLines(buf, start, end);
    const head: H1Head = {
      method: '',
      target: '',
      statusCode: 0,
      statusText: '',
      versionMinor: 1,
      headers: [],
      contentLength: -1,
      chunked: false,
      connectionClose: false,
      upgrade: false,
      bodyUntilClose: false,
    };
    // One string for the whole head, and the target and values sliced from it: a slice is a V8
    // builtin, while a string made from buffer bytes is a call into C++ each time.
    const text = latin1Text(buf, start, end);
    // The start line is scanned to its CRLF as it is parsed (no search for the line end first).
    let pos = this.kind === 'request' ? this.parseRequestLine(buf, start, end, head, text) : this.parseStatusLine(buf, start, end, head);
    const headers = head.headers;
    // Each field line is scanned once, byte by byte, to its CRLF (no search per line).
    while (pos < end + 2) {
      if (buf[pos] === 0x20 || buf[pos] === 0x09) throw new HttpParseError(400, 'obsolete line folding is not allowed');
      pos = parseFieldLine(buf, pos, headers, text, start);
      if (headers.length > this.limits.maxHeaders * 2) {
        throw this.kind === 'request' ? new HttpParseError(431, 'too many header fields') : new HttpParseError(502, 'too many upstream header fields');
      }
    }
    this.applyFraming(head);
    return head;
  }

  /** Parses the request line at `start` (the head's CRLFCRLF is at `headEnd`); returns where the next line starts. */
  private parseRequestLine(buf: Buffer, start: number, headEnd: number, head: H1Head, text: string): number {
    let i = start;
    while (TOKEN[buf[i]!]) i++;
    if (i === start || buf[i] !== 0x20) throw new HttpParseError(400, 'malformed method');
    head.method = knownMethod(buf, start, i) ?? text.slice(0, i - start);
    const t = ++i;
    while (TARGET[buf[i]!]) i++;
    if (i === t || buf[i] !== 0x20) throw new HttpParseError(400, 'malformed request target');
    head.target = text.slice(t - start, i - start);
    i++;
    // "HTTP/x.y" CRLF, ending no later than the head does.
    if (i + 8 > headEnd || !isHttpSlash(buf, i) || buf[i + 6] !== 0x2e || buf[i + 8] !== CR || buf[i + 9] !== LF) {
      throw new HttpParseError(400, 'malformed HTTP version');
    }
    const major = buf[i + 5]! - 0x30;
    const minor = buf[i + 7]! - 0x30;
    if (major !== 1 || minor < 0 || minor > 9) {
      throw major >= 0 && major <= 9 && minor >= 0 && minor <= 9
        ? new HttpParseError(505, 'HTTP version not supported')
        : new HttpParseError(400, 'malformed HTTP version');
    }
    // A higher minor version is read as the highest one known (RFC 9110 §2.5), as nginx and Envoy read it.
    head.versionMinor = minor > 1 ? 1 : minor;
    return i + 10;
  }

  /** Parses the status line at `start`; returns where the next line starts. */
  private parseStatusLine(buf: Buffer, start: number, headEnd: number, head: H1Head): number {
    if (start + 12 > headEnd || !isHttpSlash(buf, start) || buf[start + 5] !== 0x31 || buf[start + 6] !== 0x2e) {
      throw new HttpParseError(502, 'malformed upstream status line');
    }
    const minor = buf[start + 7]! - 0x30;
    if (minor < 0 || minor > 9 || buf[start + 8] !== 0x20) throw new HttpParseError(502, 'malformed upstream status line');
    let code = 0;
    for (let i = start + 9; i < start + 12; i++) {
      const d = buf[i]! - 0x30;
      if (d < 0 || d > 9) throw new HttpParseError(502, 'malformed upstream status code');
      code = code * 10 + d;
    }
    let i = start + 12;
    // 600-999 are no HTTP status (RFC 9110 §15): a client treats them as a server error.
    if (code < 100 || code > 599 || (buf[i] !== 0x20 && buf[i] !== CR)) throw new HttpParseError(502, 'malformed upstream status code');
    // The reason phrase (HTAB, SP, VCHAR, obs-text) is checked but not kept: the downstream codec writes its own.
    while (isFieldValueByte(buf[i]!)) i++;
    if (buf[i] !== CR || buf[i + 1] !== LF) throw new HttpParseError(502, 'malformed upstream status line');
    head.statusCode = code;
    head.versionMinor = minor > 1 ? 1 : minor;
    head.statusText = '';
    return i + 2;
  }

  /** Decides body framing from Content-Length / Transfer-Encoding, refusing the smuggling shapes. */
  private applyFraming(head: H1Head): void {
    const h = head.headers;
    let te: string | undefined;
    let cl: string | undefined;
    let connection = '';
    let hasUpgrade = false;
    for (let i = 0; i < h.length; i += 2) {
      const name = h[i]!;
      if (name === 'content-length') {
        if (cl !== undefined) throw this.framingError('duplicate Content-Length');
        cl = h[i + 1]!;
      } else if (name === 'transfer-encoding') {
        te = te === undefined ? h[i + 1]! : `${te}, ${h[i + 1]!}`;
      } else if (name === 'connection') {
        connection = connection ? `${connection},${h[i + 1]!.toLowerCase()}` : h[i + 1]!.toLowerCase();
      } else if (name === 'upgrade') hasUpgrade = true;
    }
    if (this.kind === 'response' && (head.statusCode < 200 || head.statusCode === 204) && (te !== undefined || (cl !== undefined && cl !== '0'))) {
      // A 1xx or 204 never has content (RFC 9110 §8.6, RFC 9112 §6.1): one framed as if it did may be
      // followed by body bytes, which the next request would read as its response. 502, as nghttpx answers.
      throw this.framingError(`a ${head.statusCode} response with ${te !== undefined ? 'Transfer-Encoding' : 'Content-Length'}`);
    }
    if (te !== undefined) {
      if (cl !== undefined) throw this.framingError('both Content-Length and Transfer-Encoding');
      if (head.versionMinor === 0 && this.kind === 'request') throw this.framingError('Transfer-Encoding in an HTTP/1.0 request');
      const codings = te.toLowerCase().split(',');
      // Only chunked is decoded: a body still under another coding (gzip, ...) would go on without its
      // Transfer-Encoding, and the next hop would read the coded bytes as the body.
      if (codings.length > 1) {
        const chunkedTwice = codings.slice(0, -1).some((c) => trimOws(c) === 'chunked');
        if (chunkedTwice) throw this.framingError('chunked applied more than once');
        // Framed by a final chunked, but under a coding this proxy does not decode: RFC 9112 §6.1 asks
        // for 501 (as Envoy and nginx answer). Chunked not last leaves no framing at all: 400 below.
        if (this.kind === 'request' && trimOws(codings[codings.length - 1]!) === 'chunked') throw new HttpParseError(501, 'unsupported transfer coding');
        throw this.framingError('unsupported transfer coding');
      }
      const coding = trimOws(codings[0]!);
      if (coding === 'chunked') head.chunked = true;
      else if (this.kind === 'request') throw this.framingError('Transfer-Encoding without chunked as the final coding');
      // A response may end its body by closing; "identity" (an obsolete name for no coding) changes nothing.
      else if (coding === 'identity') head.bodyUntilClose = true;
      else throw this.framingError('unsupported transfer coding');
    } else if (cl !== undefined) {
      if (cl.length === 0 || cl.length > 16) throw this.framingError('invalid Content-Length');
      let n = 0;
      for (let i = 0; i < cl.length; i++) {
        const d = cl.charCodeAt(i) - 0x30;
        if (d < 0 || d > 9) throw this.framingError('invalid Content-Length');
        n = n * 10 + d;
      }
      if (n > MAX_CONTENT_LENGTH) throw this.framingError('Content-Length too large');
      head.contentLength = n;
    } else if (this.kind === 'response') {
      head.bodyUntilClose = true;
    }
    if (connection) {
      head.connectionClose = hasToken(connection, 'close') || (head.versionMinor === 0 && !hasToken(connection, 'keep-alive'));
      head.upgrade = hasUpgrade && hasToken(connection, 'upgrade');
    } else head.connectionClose = head.versionMinor === 0;
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing: close after it,
    // whatever keep-alive it asks for (a request of that shape was refused above).
    if (te !== undefined && head.versionMinor === 0) head.connectionClose = true;
    if (this.kind === 'request' && head.method === 'CONNECT') head.upgrade = true;
  }

  private framingError(reason: string): HttpParseError {
    return new HttpParseError(this.kind === 'request' ? 400 : 502, reason);
  }
}

/** Index of the "\r\n\r\n" ending a head that starts at `from`, or -1 when none ends before `len`. */
function findHeadEnd(buf: Buffer, from: number, len: number): number {
  const end = buf.indexOf(CRLFCRLF, from);
  return end >= 0 && end + 4 <= len ? end : -1;
}

/** Where the first byte after the CRLF pairs at `from` is, looking no further than `end`. */
function skipEmptyLines(buf: Buffer, from: number, end: number): number {
  let pos = from;
  while (pos + 1 < end && buf[pos] === CR && buf[pos + 1] === LF) pos += 2;
  return pos;
}

/** Index of the first LF in buf[from, len), or -1. */
function lineFeed(buf: Buffer, from: number, len: number): number {
  const lf = buf.indexOf(LF, from);
  return lf < len ? lf : -1;
}

/** Whether the head starting at `start` has an LF without its CR in [from, len). */
function hasBareLf(buf: Buffer, start: number, from: number, len: number): boolean {
  let i = lineFeed(buf, from, len);
  while (i >= 0) {
    if (i === start || buf[i - 1] !== CR) return true;
    i = lineFeed(buf, i + 1, len);
  }
  return false;
}

/** Parses "name: value" between start and end (excluding CRLF) into the flat header list. */
/** "HTTP/" at buf[at]. */
function isHttpSlash(buf: Buffer, at: number): boolean {
  return buf[at] === 0x48 && buf[at + 1] === 0x54 && buf[at + 2] === 0x54 && buf[at + 3] === 0x50 && buf[at + 4] === 0x2f;
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'];

/** The interned string for a common method (methods are case-sensitive: exact bytes only). */
function knownMethod(buf: Buffer, start: number, end: number): string | undefined {
  for (let k = 0; k < METHODS.length; k++) {
    const m = METHODS[k]!;
    if (m.length !== end - start) continue;
    let i = 0;
    while (i < m.length && buf[start + i] === m.charCodeAt(i)) i++;
    if (i === m.length) return m;
  }
  return undefined;
}

/**
 * Parses the field line at `start` ("name: value" CRLF) into the flat header list; returns where the
 * next line starts. Header section bytes end in CRLFCRLF, so every scan below stops inside it.
 * `text` is the same bytes as Latin-1 from `textStart` on: the value is sliced from it.
 */
function parseFieldLine(buf: Buffer, start: number, out: string[], text: string, textStart: number): number {
  let i = start;
  while (TOKEN[buf[i]!]) i++;
  if (i === start || buf[i] !== 0x3a) {
    if (buf[i] === LF) throw new HttpParseError(400, 'bare LF in header section');
    throw new HttpParseError(400, buf[i] === 0x20 || buf[i] === 0x09 ? 'whitespace before colon in header field' : 'malformed header field name');
  }
  const name = knownHeaderName(buf, start, i) ?? buf.toString('latin1', start, i).toLowerCase();
  i++;
  while (buf[i] === 0x20 || buf[i] === 0x09) i++;
  const vStart = i;
  while (isFieldValueByte(buf[i]!)) i++;
  if (buf[i] !== CR || buf[i + 1] !== LF) {
    throw new HttpParseError(400, buf[i] === LF ? 'bare LF in header section' : 'invalid character in header value');
  }
  let vEnd = i;
  while (vEnd > vStart && (buf[vEnd - 1] === 0x20 || buf[vEnd - 1] === 0x09)) vEnd--;
  // Two one-argument pushes: TurboFan inlines those, while push(a, b) here stayed a builtin call.
  out.push(name);
  out.push(text.slice(vStart - textStart, vEnd - textStart));
  return i + 2;
}

/** Parses "hex[;ext]\r" between start and the LF at `lf`. */
function parseChunkSize(buf: Buffer, start: number, lf: number): number {
  if (lf === start || buf[lf - 1] !== CR) throw new HttpParseError(400, 'bare LF in chunk size line');
  const end = lf - 1;
  let i = start;
  let size = 0;
  while (i < end && HEX[buf[i]!]! >= 0) {
    size = size * 16 + HEX[buf[i]!]!;
    if (size > MAX_CONTENT_LENGTH) throw new HttpParseError(400, 'chunk too large');
    i++;
  }
  if (i === start) throw new HttpParseError(400, 'invalid chunk size');
  if (i < end && !isChunkExtensions(buf, i, end)) throw new HttpParseError(400, buf[i] === 0x3b || buf[i] === 0x20 || buf[i] === 0x09 ? 'invalid chunk extension' : 'invalid chunk size');
  return size;
}

/**
 * chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) (RFC 9112 §7.1.1), the
 * whole of buf[i, end). Checked to the letter: parsers that read a malformed size line differently
 * ("5 ", "5;", "5;a=b c") disagree on where the chunk ends.
 */
function isChunkExtensions(buf: Buffer, i: number, end: number): boolean {
  while (i < end) {
    i = skipOws(buf, i, end);
    if (i >= end || buf[i] !== 0x3b) return false;
    i = skipOws(buf, i + 1, end);
    const name = i;
    while (i < end && TOKEN[buf[i]!]) i++;
    if (i === name) return false;
    const afterName = skipOws(buf, i, end);
    if (afterName < end && buf[afterName] === 0x3d) {
      i = skipOws(buf, afterName + 1, end);
      i = buf[i] === 0x22 ? quotedStringEnd(buf, i, end) : tokenEnd(buf, i, end);
      if (i < 0) return false;
    }
  }
  return true;
}

function skipOws(buf: Buffer, i: number, end: number): number {
  while (i < end && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
  return i;
}

/** Where a non-empty token starting at `i` ends, or -1. */
function tokenEnd(buf: Buffer, i: number, end: number): number {
  const start = i;
  while (i < end && TOKEN[buf[i]!]) i++;
  return i === start ? -1 : i;
}

/** Where the quoted-string opening at `i` ends (after its closing DQUOTE), or -1 (RFC 9110 §5.6.4). */
function quotedStringEnd(buf: Buffer, i: number, end: number): number {
  for (i++; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x22) return i + 1;
    if (c === 0x5c) {
      i++;
      if (i >= end || !isFieldValueByte(buf[i]!)) return -1;
    } else if (!isFieldValueByte(c)) return -1;
  }
  return -1;
}

/**
 * Strips optional whitespace (SP, HTAB) from both ends. Not String.prototype.trim: that also strips
 * NBSP (0xA0, obs-text here), and "chunked\xA0" would pass for chunked where other parsers disagree.
 */
function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (s.charCodeAt(start) === 0x20 || s.charCodeAt(start) === 0x09)) start++;
  while (end > start && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** True when a comma-separated, lower-cased list contains `token`. */
export function hasToken(list: string, token: string): boolean {
  let from = 0;
  while (from <= list.length) {
    const comma = list.indexOf(',', from);
    const item = trimOws(list.slice(from, comma < 0 ? list.length : comma));
    if (item === token) return true;
    if (comma < 0) return false;
    from = comma + 1;
  }
  return false;
}
