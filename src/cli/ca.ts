import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type * as x509 from '@peculiar/x509';
import { CertificateAuthority, DEFAULT_SVID_TTL_MS, WORKLOAD_KEY, workloadCsr, workloadToken } from '../identity/certificate-authority.js';
import { keepRenewing } from '../identity/svid-rotation.js';
import { formatSpiffeId, parseSpiffeId, spiffeIdFromIdentity } from '../identity/spiffe-id.js';
import { disableCoreDumps } from '../keys/core-dumps.js';
import { KeyStore } from '../keys/key-store.js';
import { provisionInChild } from '../keys/token-provisioning.js';
import { resolveStateDir } from '../keys/state-dir.js';
import { CliUsageError } from './cli-error.js';

const USAGE = `usage: bulwark ca <command> [--state-dir DIR] [--module PATH]

  init --trust-domain TD [--root-days N]   create the root key in the CA token and a self-signed root
                                           (10 years by default); idempotent
  issue --identity NS/SA [--ttl-hours H]   generate the workload's key in its own token, sign its CSR there,
                                           and issue its SVID (spiffe://TD/ns/NS/sa/SA, 24 h by default)
  sign --csr FILE --spiffe-id URI          issue an SVID for a CSR made elsewhere
  rotate-root [--root-days N]              a new root key and certificate become active; the bundle keeps the
                                           old root too (overlap) until retire-old-roots
  retire-old-roots                         end the overlap: the bundle holds only the active root
  agent --identity NS/SA [--ttl-hours H]   issue the SVID, then renew it at half-life (±10 % jitter) until
                                           stopped; proxies watching the file pick each one up

Certificates are written under DIR/certs; the trust bundle is DIR/ca/bundle.pem. Keys never leave tokens.`;

/** \`bulwark ca\`: the mesh certificate authority, signing through the CA token. */
export async function run(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (!command || command === '-h' || command === '--help') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        'state-dir': { type: 'string' },
        module: { type: 'string' },
        'trust-domain': { type: 'string' },
        'root-days': { type: 'string' },
        identity: { type: 'string' },
        'ttl-hours': { type: 'string' },
        csr: { type: 'string' },
        'spiffe-id': { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    throw new CliUsageError(`${(err as Error).message}\n${USAGE}`);
  }
  // The token module runs in this process: a crash must not write its memory (PINs, key material) to disk.
  const coreDumps = disableCoreDumps();
  if (coreDumps) process.stderr.write(`bulwark ca: warning: ${coreDumps}\n`);
  const store = new KeyStore(resolveStateDir(values['state-dir']), values.module);
  try {
    const ttlMs = values['ttl-hours'] === undefined ? undefined : Number(values['ttl-hours']) * 3_600_000;
    if (ttlMs !== undefined && !(ttlMs > 0)) throw new CliUsageError('--ttl-hours must be a positive number');
    const certs = join(store.layout.root, 'certs');
    if (command === 'init') {
      const td = values['trust-domain'];
      if (!td) throw new CliUsageError(`init needs --trust-domain\n${USAGE}`);
      const days = Number(values['root-days'] ?? 3650);
      if (!Number.isInteger(days) || days < 1) throw new CliUsageError('--root-days must be a whole number of days');
      const ca = await CertificateAuthority.init(store, td, days);
      process.stdout.write(`${JSON.stringify({ msg: 'ca ready', trustDomain: ca.trustDomain, root: ca.root.subject, notAfter: ca.root.notAfter.toISOString(), bundle: ca.bundlePath })}\n`);
      return 0;
    }
    if (command === 'rotate-root' || command === 'retire-old-roots') {
      const days = Number(values['root-days'] ?? 3650);
      if (!Number.isInteger(days) || days < 1) throw new CliUsageError('--root-days must be a whole number of days');
      const ca = command === 'rotate-root' ? await CertificateAuthority.rotateRoot(store, days) : CertificateAuthority.retireOldRoots(store);
      process.stdout.write(`${JSON.stringify({ msg: command === 'rotate-root' ? 'root rotated' : 'old roots retired', root: ca.root.subject, notAfter: ca.root.notAfter.toISOString(), bundleRoots: CertificateAuthority.bundleSize(store), bundle: ca.bundlePath })}\n`);
      return 0;
    }
    const ca = CertificateAuthority.load(store);
    mkdirSync(certs, { recursive: true, mode: 0o700 });
    if (command === 'issue' || command === 'agent') {
      if (!values.identity) throw new CliUsageError(`${command} needs --identity NS/SA\n${USAGE}`);
      const id = spiffeIdFromIdentity(ca.trustDomain, values.identity);
      const token = workloadToken(id);
      const file = join(certs, `${token}.crt`);
      const issueOnce = async (): Promise<x509.X509Certificate> => {
        const cert = await ca.issue(await workloadCsr(store, id), id, ttlMs);
        // Written beside and renamed, so a watcher never reads half a certificate.
        writeFileSync(`${file}.tmp`, cert.toString('pem') + '\n');
        renameSync(`${file}.tmp`, file);
        return cert;
      };
      if (command === 'agent') {
        // The agent runs for as long as the workload does: its token's SO PIN never enters it.
        provisionInChild(store, token, WORKLOAD_KEY);
        const stop = new AbortController();
        process.once('SIGTERM', () => stop.abort());
        process.once('SIGINT', () => stop.abort());
        await keepRenewing(
          async () => {
            const cert = await issueOnce();
            process.stdout.write(`${JSON.stringify({ msg: 'svid issued', spiffeId: formatSpiffeId(id), certificate: file, token, serial: cert.serialNumber, notAfter: cert.notAfter.toISOString() })}\n`);
            return cert.notAfter;
          },
          ttlMs ?? DEFAULT_SVID_TTL_MS,
          (err) => process.stderr.write(`${JSON.stringify({ msg: 'svid renewal failed; retrying', error: err.message })}\n`),
          stop.signal,
        );
        return 0;
      }
      const cert = await issueOnce();
      process.stdout.write(`${JSON.stringify({ msg: 'svid issued', spiffeId: formatSpiffeId(id), certificate: file, token, keyLabel: WORKLOAD_KEY, notAfter: cert.notAfter.toISOString() })}\n`);
      return 0;
    }
    if (command === 'sign') {
      if (!values.csr || !values['spiffe-id']) throw new CliUsageError(`sign needs --csr FILE and --spiffe-id URI\n${USAGE}`);
      const cert = await ca.issue(readFileSync(values.csr, 'utf8'), parseSpiffeId(values['spiffe-id']), ttlMs);
      process.stdout.write(cert.toString('pem') + '\n');
      return 0;
    }
    throw new CliUsageError(`unknown ca command "${command}"\n${USAGE}`);
  } finally {
    store.close();
  }
}
