import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** An haproxy (Debian's package) run in the foreground from its own temporary directory. */
export interface RunningHaproxy {
  /** What it wrote so far (alerts and warnings), for assertion messages. */
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
 * Starts haproxy with `sections` (frontends and backends listening on 127.0.0.1) after a global and
 * defaults section in HTTP mode, and waits until `port` accepts connections.
 */
export async function startHaproxy(sections: string, port: number): Promise<RunningHaproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-haproxy-'));
  const conf = join(dir, 'haproxy.cfg');
  writeFileSync(
    conf,
    `global\n  maxconn 1000\ndefaults\n  mode http\n  timeout client 30s\n  timeout connect 5s\n  timeout server 30s\n${sections}\n`,
  );
  // -db: stay in the foreground, no daemon; the child is haproxy itself.
  const child: ChildProcess = spawn('haproxy', ['-f', conf, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`haproxy did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    logs: () => out,
    async stop() {
      // SIGTERM: haproxy's hard stop, which closes its connections at once.
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
