import { execFile, spawn, type ChildProcess } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { REPO_ROOT } from '../support/proxy-process.js';
import { makePki, type TestPki } from '../support/tls-fixtures.js';
import { CLI } from '../support/cli-entry.js';

/** Runs `bulwark <args>` from source and resolves with its output and exit code. */
export function bulwark(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

export interface RunningEcho {
  child: ChildProcess;
  port: number;
  grpcPort: number;
  /** Its TCP and UDP echo ports (--tcp-port, --udp-port), null when off. */
  tcpPort: number | null;
  udpPort: number | null;
  stop(): Promise<string>;
}

/** Starts `bulwark echo` on free ports and waits for its listening line. */
export function startEcho(extra: string[] = []): Promise<RunningEcho> {
  const child = spawn(process.execPath, [...CLI, 'echo', '--port', '0', '--grpc-port', '0', ...extra], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`echo did not start: ${out}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('echo listening'));
      if (!line) return;
      clearTimeout(timer);
      const info = JSON.parse(line) as { http: number; grpc: number; tcp: number | null; udp: number | null };
      resolve({
        child,
        port: info.http,
        grpcPort: info.grpc,
        tcpPort: info.tcp,
        udpPort: info.udp,
        stop: () =>
          new Promise((r) => {
            child.once('exit', () => r(out));
            child.kill('SIGTERM');
          }),
      });
    });
    child.once('exit', (code) => reject(new Error(`echo exited ${code}: ${out}`)));
  });
}

/** A plain echo and one over TLS with a certificate from a fresh test CA (for -cacert). */
export async function startEchoPair(): Promise<{ echo: RunningEcho; tlsEcho: RunningEcho; pki: TestPki }> {
  const pki = makePki();
  const leaf = pki.issue('echo', 'DNS:localhost,IP:127.0.0.1');
  return { echo: await startEcho(), tlsEcho: await startEcho(['--cert', leaf.cert, '--key', leaf.key]), pki };
}

export interface RawServer {
  url: string;
  /** Connections accepted so far. */
  connections(): number;
  close(): void;
}

/**
 * An HTTP/1.1 server on loopback that writes, for each request head it reads, the exact bytes
 * `respond` returns for the request's path (a response whose size a test knows to the byte).
 */
export async function rawHttpServer(respond: (path: string) => string): Promise<RawServer> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    let pending = '';
    socket.on('error', () => socket.destroy());
    socket.on('data', (d: Buffer) => {
      pending += d.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        const path = pending.slice(0, end).split(' ')[1] ?? '/';
        pending = pending.slice(end + 4);
        socket.write(respond(path), 'latin1');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections, close: () => server.close() };
}
