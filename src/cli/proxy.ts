import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadBootstrapFile } from '../config/bootstrap-loader.js';
import { ConfigErrors } from '../config/config-errors.js';
import { disableCoreDumps } from '../keys/core-dumps.js';
import { execWithCustody } from '../keys/custody-exec.js';
import { proxyLogger } from '../proxy/proxy-log.js';
import { CertificateWatcher, certificateFiles } from '../proxy/tls/certificate-watcher.js';
import type { ProxySupervisor } from '../proxy/proxy-supervisor.js';
import { ReloadQueue } from '../proxy/reload-queue.js';
import { CliUsageError } from './cli-error.js';

const configLog = proxyLogger('config');
const custodyLog = proxyLogger('key_custody');
const mainLog = proxyLogger('main');

const USAGE = `usage: bulwark proxy --config FILE [--concurrency N] [--drain-time SECONDS] [--keyd STATE_DIR] [--insecure-memory-keys]

  --config FILE           static bootstrap (Envoy's shape, YAML or JSON)
  --concurrency N         worker processes (default: number of cores; 1 = a single process)
  --drain-time SECONDS    how long a drain (SIGTERM, SIGINT, POST /quitquitquit) waits for in-flight requests (default 5)
  --keyd STATE_DIR        sign with keys in keyd's custody (pkcs11 key provider) from that state directory
  --insecure-memory-keys  allow private keys in proxy memory (development only)

SIGTERM or SIGINT drains, then exits; a second one during the drain ends it early (workers still stop cleanly).
SIGHUP reloads the config file; an invalid file is reported and the running config stays.
SIGUSR1 (or POST /reopen_logs on the admin port) reopens the access log files after log rotation.`;

/** `bulwark proxy`: runs a sidecar or gateway proxy from a static config file. */
export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: 'string', short: 'c' },
        concurrency: { type: 'string' },
        'drain-time': { type: 'string' },
        keyd: { type: 'string' },
        'insecure-memory-keys': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    throw new CliUsageError(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.config) throw new CliUsageError(`--config is required\n${USAGE}`);
  const concurrency = values.concurrency === undefined ? availableParallelism() : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new CliUsageError('--concurrency must be an integer from 1 to 256');
  const drainMs = values['drain-time'] === undefined ? 5_000 : Number(values['drain-time']) * 1000;
  if (!Number.isFinite(drainMs) || drainMs < 0) throw new CliUsageError('--drain-time must be a number of seconds');
  const file = values.config;
  const allowMemoryKeys = values['insecure-memory-keys'] === true;
  // Before the re-exec and the workers, which inherit it.
  const coreDumps = disableCoreDumps();
  if (coreDumps) mainLog('warn', coreDumps);
  if (values.keyd) {
    const child = execWithCustody(resolve(values.keyd));
    if (child) return child;
  }

  let bootstrap;
  try {
    bootstrap = loadBootstrapFile(file);
  } catch (err) {
    if (err instanceof ConfigErrors) {
      process.stderr.write(`bulwark proxy: invalid config:\n${err.message}\n`);
      return 1;
    }
    throw err;
  }
  if (allowMemoryKeys) custodyLog('warn', 'INSECURE: --insecure-memory-keys allows private keys in proxy memory; development and benchmarks only');

  // Only the supervisor this run uses is loaded: a single process never holds the worker pool's code, and
  // a pool's primary never holds the data path it leaves to its workers. Idle memory is a target.
  const single = concurrency === 1 ? (await import('../proxy/single-process-proxy.js')).SingleProcessProxy : undefined;
  const pool = single === undefined ? (await import('../proxy/workers/worker-pool-proxy.js')).WorkerPoolProxy : undefined;
  return new Promise<number>((resolve) => {
    const exit = (code: number): void => {
      resolve(code);
      // Drained: a connection that outlived the drain time must not hold the process open (a worker exits
      // the same way). No code here: the one main() takes from the promise (1 after a failed start) stands.
      setImmediate(() => process.exit());
    };
    const supervisor: ProxySupervisor =
      single !== undefined ? new single(bootstrap, allowMemoryKeys, drainMs, exit) : new pool!(bootstrap, concurrency, allowMemoryKeys, drainMs, exit);
    let version = 1;
    const reload = async (reason: string): Promise<void> => {
      let next;
      try {
        next = loadBootstrapFile(file);
      } catch (err) {
        configLog('error', 'config reload rejected; keeping the last good version', { file, reason, errors: (err as Error).message.split('\n') });
        supervisor.reloadRejected((err as Error).message);
        return;
      }
      next.staticResources.version = `static-${++version}`;
      const error = await supervisor.reload(next);
      if (error) configLog('error', 'config reload rejected; keeping the last good version', { file, reason, error });
      else {
        if (reason !== 'SIGHUP') configLog('info', 'certificates reloaded', { reason, version: next.staticResources.version });
        certificates.watch(certificateFiles(next.staticResources));
      }
    };
    // A reload that threw is a fault of the proxy: said loudly, and the last good version stays.
    const reloads = new ReloadQueue(reload, (err, reason) => {
      const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      configLog('error', 'config reload failed; keeping the last good version', { file, reason, error });
      supervisor.reloadRejected(`internal error: ${err instanceof Error ? err.message : String(err)}`);
    });
    const certificates = new CertificateWatcher(() => reloads.request('certificate files changed'));
    certificates.watch(certificateFiles(bootstrap.staticResources));
    process.on('SIGHUP', () => reloads.request('SIGHUP'));
    // Log rotation, as Envoy does it: the rotated files are reopened by path.
    process.on('SIGUSR1', () => supervisor.reopenLogs());
    // The first SIGTERM or SIGINT drains; another during the drain ends it early (workers still stop
    // cleanly, the exit is logged). Handlers stay installed: the default action would kill the primary
    // and leave its workers behind.
    const onSignal = (signal: NodeJS.Signals): void => {
      supervisor.endDrain(signal);
      void supervisor.shutdown(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    supervisor.start().catch((err: unknown) => {
      mainLog('error', 'proxy failed to start', { error: (err as Error).message });
      resolve(1);
      // Workers, listeners already bound and the admin server would keep the process alive.
      void supervisor.shutdown('failed to start', 0);
    });
  });
}
