import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** An nginx (installed by scripts/bootstrap.sh) run in the foreground from its own temporary directory. */
export interface RunningNginx {
  dir: string;
  /** Its error log so far, for assertion messages. */
  logs(): string;
  stop(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Starts nginx with `httpBlock` as the body of its http {} block (servers listening on 127.0.0.1) and
 * waits until `port` accepts connections. Everything it writes stays in its directory.
 */
export async function startNginx(httpBlock: string, port: number): Promise<RunningNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-nginx-'));
  // Its workers may run as nobody and must reach their temporary files.
  chmodSync(dir, 0o777);
  const conf = join(dir, 'nginx.conf');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${join(dir, t)};`).join('\n  ');
  writeFileSync(
    conf,
    `daemon off;\nworker_processes 1;\npid ${join(dir, 'nginx.pid')};\nerror_log stderr warn;\nevents { worker_connections 512; }\nhttp {\n  access_log off;\n  ${temp}\n  ${httpBlock}\n}\n`,
  );
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not start:\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    dir,
    logs: () => err,
    async stop() {
      // SIGTERM: nginx's fast shutdown, which also ends its worker.
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
