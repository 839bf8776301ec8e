import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { REPO_ROOT, startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { bulwark as loadCli } from '../load/load-support.js';
import { bulwark, custodyCertificate, newStateDir, startKeyd, type RunningKeyd } from '../keys/keyd-fixture.js';
import { CLI } from '../support/cli-entry.js';

const TD = 'cluster.local';
let state: string;
let keyd: RunningKeyd;
let app: TestUpstream;
let server: RunningProxy;
let client: RunningProxy;
let clientPort: number;
const agents: ChildProcess[] = [];
let agentOutput = '';

interface Issued {
  certificate: string;
  token: string;
}

function mtls(issued: Issued, bundle: string, peer: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      typedConfig: {
        ...extra,
        commonTlsContext: {
          tlsCertificates: [custodyCertificate(issued.certificate, 'svid', issued.token)],
          validationContext: { trustedCa: { filename: bundle }, matchTypedSubjectAltNames: [{ sanType: 'URI', matcher: { exact: `spiffe://${TD}/ns/default/sa/${peer}` } }] },
        },
      },
    },
  };
}

function startAgent(identity: string): void {
  // A 7.2 s certificate: the agent renews it about every 3.6 s.
  const child = spawn(process.execPath, [...CLI, 'ca', 'agent', '--identity', identity, '--ttl-hours', '0.002', '--state-dir', state], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (agentOutput += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (agentOutput += d.toString()));
  agents.push(child);
}

before(async () => {
  state = newStateDir();
  const bundle = (JSON.parse(bulwark(['ca', 'init', '--trust-domain', TD, '--state-dir', state])) as { bundle: string }).bundle;
  const clientSvid = JSON.parse(bulwark(['ca', 'issue', '--identity', 'default/client', '--state-dir', state])) as Issued;
  const serverSvid = JSON.parse(bulwark(['ca', 'issue', '--identity', 'default/server', '--state-dir', state])) as Issued;
  keyd = await startKeyd(state);
  app = await startUpstream('app');
  const serverPort = await freePort();
  clientPort = await freePort();
  server = await startProxy(
    bootstrap([httpListener('inbound', serverPort, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), { statPrefix: 'inbound_8443' }, mtls(serverSvid, bundle, 'client', { requireClientCertificate: true }))], [staticCluster('app', [app.port])]),
    { extraArgs: ['--keyd', state], concurrency: 2 },
  );
  client = await startProxy(
    bootstrap([httpListener('outbound', clientPort, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'server' } }]))], [staticCluster('server', [serverPort], { ...mtls(clientSvid, bundle, 'server'), commonHttpProtocolOptions: { maxRequestsPerConnection: 20 } })]),
    { extraArgs: ['--keyd', state] },
  );
});

after(async () => {
  for (const a of agents) a.kill('SIGTERM');
  await client?.stop();
  await server?.stop();
  await app?.close();
  await keyd?.stop();
});

test('certificates rotate at half-life under load with zero failed requests', { timeout: 120_000 }, async () => {
  startAgent('default/server');
  startAgent('default/client');
  // Upstream connections are recycled every 20 requests, so new handshakes keep meeting new certificates.
  const r = await loadCli(['load', '-quiet', '-qps', '40', '-c', '4', '-t', '14s', '-json', '-', `http://127.0.0.1:${clientPort}/`], 90_000);
  const result = JSON.parse(r.stdout) as FortioResult;
  assert.deepEqual(Object.keys(result.RetCodes), ['200'], `every call succeeds: ${JSON.stringify(result.RetCodes)}\nclient:\n${client.logs().split('\n').filter((l) => !l.includes('"info"')).slice(-8).join('\n')}\nserver:\n${server.logs().split('\n').filter((l) => !l.includes('"info"')).slice(-8).join('\n')}`);
  assert.ok(result.DurationHistogram.Count > 400, `calls: ${result.DurationHistogram.Count}`);
  const issued = (agentOutput.match(/svid issued/g) ?? []).length;
  assert.ok(issued >= 6, `the agents renewed: ${issued} issuances\n${agentOutput}`);
  assert.ok((server.logs().match(/certificates reloaded/g) ?? []).length >= 2, server.logs().slice(-1500));
  assert.ok((client.logs().match(/certificates reloaded/g) ?? []).length >= 2, client.logs().slice(-1500));
});

test('root rotation with an overlap: old and new SVIDs trust each other, then the old root is retired, with no failed request', { timeout: 120_000 }, async () => {
  for (const a of agents) a.kill('SIGTERM');
  // Back to day-long certificates before the root changes.
  await new Promise((r) => setTimeout(r, 500));
  bulwark(['ca', 'issue', '--identity', 'default/server', '--state-dir', state]);
  bulwark(['ca', 'issue', '--identity', 'default/client', '--state-dir', state]);
  await new Promise((r) => setTimeout(r, 2500));
  const loadRun = loadCli(['load', '-quiet', '-qps', '40', '-c', '4', '-t', '12s', '-json', '-', `http://127.0.0.1:${clientPort}/`], 90_000);
  await new Promise((r) => setTimeout(r, 1000));
  const rotated = JSON.parse(bulwark(['ca', 'rotate-root', '--state-dir', state])) as { bundleRoots: number };
  assert.equal(rotated.bundleRoots, 2, 'the bundle holds old and new roots during the overlap');
  await new Promise((r) => setTimeout(r, 2500));
  // The server renews first (new root) while the client still holds an old-root SVID, then the client.
  bulwark(['ca', 'issue', '--identity', 'default/server', '--state-dir', state]);
  await new Promise((r) => setTimeout(r, 2500));
  bulwark(['ca', 'issue', '--identity', 'default/client', '--state-dir', state]);
  await new Promise((r) => setTimeout(r, 2500));
  const retired = JSON.parse(bulwark(['ca', 'retire-old-roots', '--state-dir', state])) as { bundleRoots: number };
  assert.equal(retired.bundleRoots, 1);
  const result = JSON.parse((await loadRun).stdout) as FortioResult;
  assert.deepEqual(Object.keys(result.RetCodes), ['200'], `every call succeeds across the root rotation: ${JSON.stringify(result.RetCodes)}\n${server.logs().slice(-1500)}`);
  // After retirement, new connections still work: both SVIDs chain to the new root.
  const after = await loadCli(['load', '-quiet', '-qps', '0', '-c', '2', '-n', '60', '-json', '-', `http://127.0.0.1:${clientPort}/`], 60_000);
  assert.deepEqual(Object.keys((JSON.parse(after.stdout) as FortioResult).RetCodes), ['200']);
});
