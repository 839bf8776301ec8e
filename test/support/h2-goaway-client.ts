import http2 from 'node:http2';

/** A node:http2 client session that records the GOAWAYs it hears (their last stream ids). */
export interface GoawayWatchingSession {
  session: http2.ClientHttp2Session;
  goaways: number[];
  /** One GET on the session; resolves to its status. */
  get(path: string): Promise<number>;
  /** Resolves once a GOAWAY has come; throws naming `what` after `timeoutMs`. */
  untilGoaway(timeoutMs: number, what: string): Promise<void>;
}

/** One GET on `session`, its body read and dropped; resolves to its status. */
export function h2Get(session: http2.ClientHttp2Session, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':path': path });
    let status = 0;
    s.on('response', (h) => (status = Number(h[':status'])));
    s.on('error', reject);
    s.resume();
    s.on('end', () => resolve(status));
  });
}

export function watchGoaways(port: number): GoawayWatchingSession {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  const goaways: number[] = [];
  session.on('goaway', (_code, lastStreamId) => goaways.push(lastStreamId));
  const get = (path: string): Promise<number> => h2Get(session, path);
  const untilGoaway = async (timeoutMs: number, what: string): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (goaways.length === 0) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { session, goaways, get, untilGoaway };
}
