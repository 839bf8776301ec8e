import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { custodyEnv } from '../../src/keys/engine-config.js';
import { pkcs11KeyUri } from '../../src/proxy/tls/key-provider-pkcs11.js';
import { stateLayout } from '../../src/keys/state-dir.js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { REPO_ROOT, startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { CLI } from '../support/cli-entry.js';

/** A running `bulwark keyd` child over a fresh state directory. */
export interface RunningKeyd {
  stateDir: string;
  child: ChildProcess;
  logs(): string;
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function newStateDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'bulwark-keys-')), 'state');
}

/** Runs a bulwark CLI command to completion; returns stdout (throws with stderr on failure). */
export function bulwark(args: string[]): string {
  return execFileSync(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function startKeyd(stateDir: string): Promise<RunningKeyd> {
  const child = spawn(process.execPath, [...CLI, 'keyd', '--state-dir', stateDir], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const k: RunningKeyd = {
    stateDir,
    child,
    logs: () => err,
    async waitForLog(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(err)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} in keyd logs:\n${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    stop(signal = 'SIGTERM') {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    },
  };
  await k.waitForLog(/keyd ready/);
  return k;
}

/** A self-signed certificate for a key in custody, made by the openssl CLI signing through keyd. */
export function selfSignedInCustody(stateDir: string, token: string, label: string, san: string): string {
  const layout = stateLayout(stateDir);
  const out = join(mkdtempSync(join(tmpdir(), 'bulwark-cert-')), `${label}.crt`);
  const uri = pkcs11KeyUri(token, label, join(layout.pins, `${token}.pin`));
  execFileSync('openssl', ['req', '-new', '-x509', '-engine', 'pkcs11', '-keyform', 'engine', '-key', uri, '-subj', `/CN=${label}`, '-days', '1', '-addext', `subjectAltName=${san}`, '-out', out], {
    env: { ...process.env, ...custodyEnv(layout.engineConf, layout.socket) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return out;
}

export function writeTemp(name: string, text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'bulwark-tmp-')), name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
}

/**
 * The file SoftHSM2 keeps a token's state in (label, flags, PIN data); every login rewrites it. The
 * token is found by its label inside the file, so tests give their tokens distinctive labels.
 */
export function tokenStateFile(stateDir: string, label: string): string {
  const tokens = stateLayout(stateDir).tokens;
  const found = readdirSync(tokens)
    .map((dir) => join(tokens, dir, 'token.object'))
    .filter((file) => readFileSync(file).includes(label));
  if (found.length !== 1) throw new Error(`expected one token labelled ${label} in ${tokens}, found ${found.length}`);
  return found[0]!;
}

/** The pid of the p11-kit-remote process that serves `clientPid`'s connection to keyd's socket. */
export function custodyRemoteOf(clientPid: number): number {
  // ss prints both ends of each Unix stream, each as "<local address> <inode> <peer address> <peer's inode>".
  const lines = execFileSync('ss', ['-xpn'], { encoding: 'utf8' }).split('\n');
  const inodes = (line: string) => /(\d+)\s+\*\s+(\d+)\s+users:/.exec(line);
  const peers = new Set(lines.filter((l) => l.includes(`pid=${clientPid},`)).flatMap((l) => inodes(l)?.[2] ?? []));
  const remote = lines.find((l) => l.includes('p11-kit-remote') && peers.has(inodes(l)?.[1] ?? ''));
  const pid = remote && /pid=(\d+),/.exec(remote)?.[1];
  if (!pid) throw new Error(`no p11-kit-remote serves pid ${clientPid}`);
  return Number(pid);
}

/** A TLS certificate whose key stays in custody, signed with through keyd (Envoy's pkcs11 private key provider). */
export function custodyCertificate(certFile: string, keyLabel: string, token?: string): object {
  return { certificateChain: { filename: certFile }, privateKeyProvider: { providerName: 'pkcs11', typedConfig: token === undefined ? { keyLabel } : { keyLabel, token } } };
}

/** A downstream TLS transport socket serving one certificate whose key is in custody. */
export function custodyTransportSocket(certFile: string, keyLabel: string): object {
  return { name: 'envoy.transport_sockets.tls', typedConfig: { commonTlsContext: { tlsCertificates: [custodyCertificate(certFile, keyLabel)] } } };
}

/** A filter chain chosen by server name that serves `keyLabel`'s certificate from custody and routes everything to `cluster`. */
export function custodySniChain(serverNames: string[], certFile: string, keyLabel: string, cluster: string): object {
  return {
    filterChainMatch: { serverNames },
    transportSocket: custodyTransportSocket(certFile, keyLabel),
    filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: { statPrefix: keyLabel, routeConfig: routeConfig([{ match: { prefix: '/' }, route: { cluster } }]) } }],
  };
}

/** keyd holding a `gateway` key, an upstream, and a TLS gateway (DNS:gateway.test) signing through keyd in front of it. */
export interface CustodyGateway {
  state: string;
  /** Replaced by a test that restarts keyd; stop() stops the one running then. */
  keyd: RunningKeyd;
  app: TestUpstream;
  gateway: RunningProxy;
  port: number;
  stop(): Promise<void>;
}

export async function startCustodyGateway(opts: { concurrency?: number; listener?: Record<string, unknown> } = {}): Promise<CustodyGateway> {
  const state = newStateDir();
  bulwark(['keys', 'generate', '--label', 'gateway', '--state-dir', state]);
  const keyd = await startKeyd(state);
  const cert = selfSignedInCustody(state, 'gateway', 'gateway', 'DNS:gateway.test');
  const app = await startUpstream('app');
  const port = await freePort();
  const listener = { ...(httpListener('gateway', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), {}, { transportSocket: custodyTransportSocket(cert, 'gateway') }) as Record<string, unknown>), ...opts.listener };
  const proxyOptions = opts.concurrency === undefined ? { extraArgs: ['--keyd', state] } : { extraArgs: ['--keyd', state], concurrency: opts.concurrency };
  const gateway = await startProxy(bootstrap([listener], [staticCluster('app', [app.port])]), proxyOptions);
  const running: CustodyGateway = {
    state,
    keyd,
    app,
    gateway,
    port,
    async stop() {
      await gateway.stop();
      await app.close();
      await running.keyd.stop();
    },
  };
  return running;
}
