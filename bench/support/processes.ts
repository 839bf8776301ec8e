import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Clock ticks per second for /proc/PID/stat CPU times. */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim() || 100);

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Waits until something accepts TCP connections on the port. */
export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let logDir: string | undefined;
let logCount = 0;

/**
 * Starts a command pinned to `cpus` with taskset; its output goes to a file the returned log() reads.
 * Not a pipe: a bench sits in spawnSync (wrk, a load run) while it measures and would not drain one,
 * and a child that fills a pipe blocks on its next write (V8's GC trace lines did exactly that).
 */
export function startPinned(cpus: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; log: () => string } {
  logDir ??= mkdtempSync(join(tmpdir(), 'bulwark-bench-logs-'));
  const file = join(logDir, `${++logCount}.log`);
  const fd = openSync(file, 'w');
  const child = spawn('taskset', ['-c', cpus, cmd, ...args], { stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  return { child, log: () => readFileSync(file, 'latin1') };
}

/** One wrk run (one thread) pinned to `cpu`: req/s and requests; throws when wrk fails or sees error responses. */
export function runWrk(cpu: string, connections: number, seconds: number, url: string): { rps: number; requests: number } {
  const r = spawnSync('taskset', ['-c', cpu, 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, url], { encoding: 'utf8' });
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  const total = /(\d+) requests in/.exec(r.stdout);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout);
  if (!rps || !total) throw new Error(`wrk failed: ${r.stdout}${r.stderr}`);
  if (errors) throw new Error(`wrk saw ${errors[1]} error responses from ${url}`);
  return { rps: Number(rps[1]), requests: Number(total[1]) };
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** All descendants of a pid (the proxy's workers, nginx's workers), the pid included. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const r = spawnSync('pgrep', ['-P', String(out[i])]);
    for (const line of r.stdout.toString().split('\n')) if (line.trim()) out.push(Number(line));
  }
  return out;
}

/** User and system CPU seconds used so far by the processes (every thread, from /proc/PID/stat). */
export function cpuTimes(pids: number[]): { user: number; system: number } {
  let user = 0;
  let system = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      user += Number(fields[11]);
      system += Number(fields[12]);
    } catch {
      // exited
    }
  }
  return { user: user / CLK_TCK, system: system / CLK_TCK };
}

/** Resident set size in MB of the processes. */
export function rssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      // exited
    }
  }
  return kb / 1024;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
}
