import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { CLI } from './cli-entry.js';

export const REPO_ROOT = new URL('../..', import.meta.url).pathname;

/** A running `bulwark proxy` child process. */
export interface RunningProxy {
  child: ChildProcess;
  adminPort: number;
  configFile: string;
  /** Everything the proxy wrote to stderr (structured logs). */
  logs(): string;
  stdout(): string;
  get(path: string): Promise<{ status: number; body: string }>;
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Rewrites the config file and sends SIGHUP. */
  reload(yaml: string): void;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Workers for a test that does not ask: 1, or BULWARK_TEST_CONCURRENCY (`make test-workers` runs the proxy
 * tests with 2, the product's default on a 2-core machine). Tests whose checks are per process say 1.
 */
const DEFAULT_CONCURRENCY = Number(process.env.BULWARK_TEST_CONCURRENCY ?? 1);

export interface ProxyOptions {
  concurrency?: number;
  extraArgs?: string[];
  /** Added to the proxy's environment (its workers inherit it). */
  env?: NodeJS.ProcessEnv;
}

/** Adds the admin address: to a JSON config as a key, to YAML as a trailing block, or replaces ADMIN_PORT. */
function withAdmin(config: string, adminPort: number): string {
  if (config.includes('ADMIN_PORT')) return config.replaceAll('ADMIN_PORT', String(adminPort));
  const admin = { address: { socketAddress: { address: '127.0.0.1', portValue: adminPort } } };
  if (config.trimStart().startsWith('{')) return JSON.stringify({ ...(JSON.parse(config) as object), admin });
  return `${config}\nadmin:\n  address: { socketAddress: { address: 127.0.0.1, portValue: ${adminPort} } }\n`;
}

/**
 * Starts the proxy on `yaml` (which may contain ADMIN_PORT, replaced by a free port) and waits for /ready.
 * The CLI runs as cli-entry.ts picks it: the current build, else the source (never a stale build).
 */
export async function startProxy(yaml: string, opts: ProxyOptions = {}): Promise<RunningProxy> {
  const adminPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-test-'));
  const configFile = join(dir, 'proxy.yaml');
  writeFileSync(configFile, withAdmin(yaml, adminPort));
  const args = [...CLI, 'proxy', '--config', configFile, '--concurrency', String(opts.concurrency ?? DEFAULT_CONCURRENCY), ...(opts.extraArgs ?? [])];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let err = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const get = async (path: string): Promise<{ status: number; body: string }> => {
    // A new connection each time: a pooled keep-alive one can meet the admin server's idle close
    // (its keepAliveTimeout) mid-request, which fetch reports as "fetch failed".
    const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, { headers: { connection: 'close' } });
    return { status: res.status, body: await res.text() };
  };
  const proxy: RunningProxy = {
    child,
    adminPort,
    configFile,
    logs: () => err,
    stdout: () => out,
    get,
    async waitForLog(pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(err)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} in proxy logs:\n${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    reload(next: string) {
      writeFileSync(configFile, withAdmin(next, adminPort));
      child.kill('SIGHUP');
    },
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', (code) => {
          clearTimeout(t);
          resolve(code);
        });
        child.kill(signal);
      });
    },
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`proxy exited with ${child.exitCode}:\n${err}`);
    try {
      const r = await get('/ready');
      if (r.status === 200) return proxy;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`proxy not ready in time:\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `bulwark proxy --config file` until it exits (on a config it refuses): its exit code and stderr; killed after `timeoutMs`. */
export function runProxyToExit(file: string, concurrency = 1, timeoutMs = 60_000): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, 'proxy', '--config', file, '--concurrency', String(concurrency)], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the proxy did not exit on ${file}:\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}
