import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startForegroundServer, type ForegroundServer } from './foreground-server.js';

/** An nginx (installed by scripts/bootstrap.sh) run in the foreground from its own temporary directory. */
export type RunningNginx = ForegroundServer;

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
  return startForegroundServer('nginx', 'nginx', ['-p', dir, '-c', conf], dir, port);
}
