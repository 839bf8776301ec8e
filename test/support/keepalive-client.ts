import net from 'node:net';

/** One HTTP/1.1 response read off a kept-alive connection. */
export interface KeptAliveResponse {
  status: number;
  /** Lower-cased field names. */
  headers: Record<string, string>;
}

/**
 * An HTTP/1.1 client on one raw connection, as a browser or a pooled client keeps it: requests go one
 * after another on the same socket, so a test sees what each response says about the connection.
 */
export class KeepAliveClient {
  private readonly socket: net.Socket;
  private buffered = '';
  private waiting: (() => void) | undefined;
  /** Resolves when the proxy closes the connection. */
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buffered += d;
      this.waiting?.();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.waiting?.();
      resolve();
    }));
  }

  static connect(port: number): Promise<KeepAliveClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new KeepAliveClient(socket)));
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.socket.destroyed || this.socket.readableEnded;
  }

  /** Sends a GET and reads its whole response (the body by its content-length, or to its last chunk). */
  async get(path: string, timeoutMs = 5_000): Promise<KeptAliveResponse> {
    this.socket.write(`GET ${path} HTTP/1.1\r\nhost: test\r\n\r\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = this.takeResponse();
      if (response) return response;
      if (this.isClosed) throw new Error(`connection closed before a response to ${path}`);
      if (Date.now() > deadline) throw new Error(`no response to ${path} in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private takeResponse(): KeptAliveResponse | undefined {
    const end = this.buffered.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const lines = this.buffered.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    let bodyEnd: number;
    if (headers['transfer-encoding'] === 'chunked') {
      // The last chunk; the test bodies never contain it.
      const last = this.buffered.indexOf('\r\n0\r\n\r\n', end);
      if (last < 0) return undefined;
      bodyEnd = last + 7;
    } else {
      bodyEnd = end + 4 + Number(headers['content-length'] ?? 0);
      if (this.buffered.length < bodyEnd) return undefined;
    }
    this.buffered = this.buffered.slice(bodyEnd);
    return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(lines[0]!)?.[1]), headers };
  }
}
