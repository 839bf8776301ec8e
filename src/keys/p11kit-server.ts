import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KeydLog {
  (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}

export interface P11KitServerOptions {
  /** The PKCS#11 module whose tokens are served. */
  module: string;
  socket: string;
  runDir: string;
  /** Extra environment for the server (SOFTHSM2_CONF); never PINs. */
  env: Record<string, string>;
  log: KeydLog;
}

const MAX_BACKOFF_MS = 5_000;

/**
 * Supervises one `p11-kit server` exporting every token of the module on a Unix socket in keyd's 0700
 * run directory. p11-kit serves each client connection from its own `p11-kit-remote` process, so a proxy's
 * established custody session outlives a restart of this server (and of keyd itself): the server runs
 * in its own process group, and a restarted keyd adopts it through its pid file.
 */
export class P11KitServer {
  private child: ChildProcess | undefined;
  private adoptedPid: number | undefined;
  private stopping = false;
  private backoffMs = 100;
  private timer: NodeJS.Timeout | undefined;
  private readonly pidFile: string;
  restarts = 0;

  constructor(private readonly opts: P11KitServerOptions) {
    this.pidFile = join(opts.runDir, 'p11-kit-server.pid');
  }

  /** Starts (or adopts) the server and resolves once its socket accepts connections. */
  async start(): Promise<void> {
    const pid = this.livePid();
    if (pid !== undefined && existsSync(this.opts.socket)) {
      this.adoptedPid = pid;
      this.opts.log('info', 'adopted running p11-kit server', { pid, socket: this.opts.socket });
      this.watchAdopted();
      return;
    }
    this.spawn();
    await this.waitForSocket();
  }

  get pid(): number | undefined {
    return this.child?.pid ?? this.adoptedPid;
  }

  private livePid(): number | undefined {
    if (!existsSync(this.pidFile)) return undefined;
    const pid = Number(readFileSync(this.pidFile, 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
      process.kill(pid, 0);
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmd.includes(this.opts.socket) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private spawn(): void {
    rmSync(this.opts.socket, { force: true });
    const args = ['server', '-f', '--provider', this.opts.module, '-n', this.opts.socket, 'pkcs11:'];
    const child = spawn('p11-kit', args, { env: { ...process.env, ...this.opts.env }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    this.child = child;
    child.unref();
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    child.once('error', (err) => this.opts.log('error', 'p11-kit server failed to start', { error: err.message }));
    child.once('exit', (code, signal) => {
      this.child = undefined;
      rmSync(this.pidFile, { force: true });
      if (this.stopping) return;
      this.opts.log('error', 'p11-kit server exited; restarting', { code, signal, backoffMs: this.backoffMs, stderr: stderr.trim().slice(-400) });
      this.scheduleRestart();
    });
    writeFileSync(this.pidFile, String(child.pid), { mode: 0o600 });
    this.opts.log('info', 'p11-kit server started', { pid: child.pid, socket: this.opts.socket, module: this.opts.module });
  }

  private scheduleRestart(): void {
    this.restarts++;
    this.timer = setTimeout(() => {
      this.spawn();
      this.waitForSocket().then(
        () => (this.backoffMs = 100),
        (err: Error) => this.opts.log('error', 'p11-kit server did not come back', { error: err.message }),
      );
    }, this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
  }

  /** An adopted server is not our child: poll it, and take over with a fresh one when it dies. */
  private watchAdopted(): void {
    this.timer = setInterval(() => {
      if (this.adoptedPid === undefined) return;
      try {
        process.kill(this.adoptedPid, 0);
      } catch {
        this.opts.log('error', 'adopted p11-kit server exited; restarting', { pid: this.adoptedPid });
        this.adoptedPid = undefined;
        clearInterval(this.timer);
        this.scheduleRestart();
      }
    }, 250);
  }

  private async waitForSocket(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(this.opts.socket)) {
      if (Date.now() > deadline) throw new Error(`p11-kit server socket ${this.opts.socket} did not appear`);
      await new Promise((r) => setTimeout(r, 20));
    }
    chmodSync(this.opts.socket, 0o600);
  }

  /** Stops the server (keyd shutting down on purpose). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    clearInterval(this.timer);
    const pid = this.pid;
    if (pid === undefined) return;
    const exited = this.child ? new Promise<void>((r) => this.child!.once('exit', () => r())) : Promise.resolve();
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))]);
    rmSync(this.pidFile, { force: true });
    rmSync(this.opts.socket, { force: true });
  }
}
