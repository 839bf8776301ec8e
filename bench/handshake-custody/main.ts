import { execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { custodyEnv } from '../../src/keys/engine-config.js';
import { KeyStore } from '../../src/keys/key-store.js';
import { stateLayout } from '../../src/keys/state-dir.js';
import { pkcs11KeyUri } from '../../src/proxy/tls/key-provider-pkcs11.js';
import { freePort, median, startPinned, stop, waitForPort } from '../support/processes.js';

const REPS = 3;
const SECONDS = 8;
const CLIENTS = 3;
const TARGET = 0.85;

const work = mkdtempSync(join(tmpdir(), 'bench-handshake-'));
const state = join(work, 'state');
const layout = stateLayout(state);

/** A proxy with one TLS listener whose certificate uses `tlsCertificate`; its upstream is never reached. */
async function startGateway(tlsCertificate: object, args: string[]): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const admin = await freePort();
  const config = {
    admin: { address: { socketAddress: { address: '127.0.0.1', portValue: admin } } },
    staticResources: {
      listeners: [
        {
          name: 'gw',
          address: { socketAddress: { address: '127.0.0.1', portValue: port } },
          filterChains: [
            {
              transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { commonTlsContext: { tlsCertificates: [tlsCertificate] } } },
              filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: 'gw', cluster: 'none' } }],
            },
          ],
        },
      ],
      clusters: [{ name: 'none', type: 'STATIC', loadAssignment: { clusterName: 'none', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: 9 } } } }] }] } }],
    },
  };
  const file = join(work, `gw-${port}.json`);
  writeFileSync(file, JSON.stringify(config));
  const p = startPinned('0', process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'proxy', '--config', file, '--concurrency', '1', ...args]);
  await waitForPort(port);
  return { port, stop: () => stop(p.child) };
}

/** CLIENTS parallel `openssl s_time -new` (full TLS 1.3 handshakes, no resumption) for SECONDS; handshakes/s. */
async function measure(port: number): Promise<number> {
  const runs = Array.from({ length: CLIENTS }, () =>
    new Promise<number>((resolve, reject) => {
      const c = spawn('taskset', ['-c', '1', 'openssl', 's_time', '-connect', `127.0.0.1:${port}`, '-new', '-tls1_3', '-time', String(SECONDS)], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.once('exit', () => {
        const m = /(\d+) connections in ([\d.]+) real seconds/.exec(out) ?? /(\d+) connections in ([\d.]+)s/.exec(out);
        if (!m) return reject(new Error(`unexpected s_time output: ${out.slice(0, 300)}`));
        resolve(Number(m[1]) / SECONDS);
      });
    }),
  );
  return (await Promise.all(runs)).reduce((a, b) => a + b, 0);
}

async function main(): Promise<void> {
  // Custody: a P-256 key generated in keyd's token; its certificate signed through keyd by the openssl CLI.
  const store = new KeyStore(state);
  store.ensureKey('bench', 'bench');
  store.close();
  const keyd = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'keyd', '--state-dir', state], { stdio: ['ignore', 'ignore', 'pipe'] });
  let keydLog = '';
  keyd.stderr.on('data', (d: Buffer) => (keydLog += d.toString()));
  for (let i = 0; i < 200 && !/keyd ready/.test(keydLog); i++) await new Promise((r) => setTimeout(r, 50));
  if (!/keyd ready/.test(keydLog)) throw new Error(`keyd did not start:\n${keydLog}`);
  const custodyCert = join(work, 'custody.crt');
  execFileSync('openssl', ['req', '-new', '-x509', '-engine', 'pkcs11', '-keyform', 'engine', '-key', pkcs11KeyUri('bench', 'bench', join(layout.pins, 'bench.pin')), '-subj', '/CN=bench', '-days', '1', '-out', custodyCert], {
    env: { ...process.env, ...custodyEnv(layout.engineConf, layout.socket) },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  // Memory baseline: the same key type (ECDSA P-256), as PEM in the proxy.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const memKey = join(work, 'memory.key');
  const memCert = join(work, 'memory.crt');
  writeFileSync(memKey, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  execFileSync('openssl', ['req', '-new', '-x509', '-key', memKey, '-subj', '/CN=bench', '-days', '1', '-out', memCert], { stdio: 'ignore' });

  const custody = await startGateway({ certificateChain: { filename: custodyCert }, privateKeyProvider: { providerName: 'pkcs11', typedConfig: { keyLabel: 'bench' } } }, ['--keyd', state]);
  const memory = await startGateway({ certificateChain: { filename: memCert }, privateKey: { filename: memKey } }, ['--insecure-memory-keys']);
  const c: number[] = [];
  const m: number[] = [];
  try {
    await measure(custody.port);
    await measure(memory.port);
    for (let i = 0; i < REPS; i++) {
      c.push(await measure(custody.port));
      m.push(await measure(memory.port));
    }
  } finally {
    await custody.stop();
    await memory.stop();
    await stop(keyd);
  }
  const hc = median(c);
  const hm = median(m);
  const ratio = hc / hm;
  process.stdout.write(`handshake-custody: ${CLIENTS} parallel openssl s_time -new -tls1_3 clients (CPU 1), proxy --concurrency 1 (CPU 0), ${SECONDS}s x ${REPS} runs, ECDSA P-256\n`);
  process.stdout.write(`provider   runs (handshakes/s)            median\n`);
  process.stdout.write(`pkcs11     ${c.map((x) => x.toFixed(0)).join(', ').padEnd(30)} ${hc.toFixed(0)}\n`);
  process.stdout.write(`memory     ${m.map((x) => x.toFixed(0)).join(', ').padEnd(30)} ${hm.toFixed(0)}\n`);
  process.stdout.write(`custody / memory: ${ratio.toFixed(3)} (target >= ${TARGET})\n`);
  const line = { figures: { handshakes_per_s_custody: Math.round(hc), handshakes_per_s_memory: Math.round(hm) }, ratios: { custody_vs_memory: Number(ratio.toFixed(3)) }, targets: { custody_vs_memory_min: TARGET }, pass: ratio >= TARGET };
  process.stdout.write(`BENCH handshake-custody ${JSON.stringify(line)}\n`);
}

await main();
