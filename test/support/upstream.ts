import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback HTTP/1.1 server for tests; the handler decides the behaviour. */
export interface TestUpstream {
  port: number;
  server: http.Server;
  requests: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; rawHeaders: string[]; body: string }>;
  close(): Promise<void>;
}

export async function startUpstream(name: string, handler?: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void): Promise<TestUpstream> {
  const requests: TestUpstream['requests'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body });
      if (handler) return handler(req, res, body);
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
      res.end(JSON.stringify({ upstream: name, method: req.method, url: req.url, headers: req.headers, body }));
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
