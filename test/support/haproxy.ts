import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startForegroundServer, type ForegroundServer } from './foreground-server.js';

/** An haproxy (Debian's package) run in the foreground from its own temporary directory. */
export type RunningHaproxy = ForegroundServer;

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
  return startForegroundServer('haproxy', 'haproxy', ['-f', conf, '-db'], dir, port);
}
