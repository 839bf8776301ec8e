import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CertificateAuthority, WORKLOAD_KEY, workloadCsr, workloadToken } from '../identity/certificate-authority.js';
import { formatSpiffeId, parseSpiffeId, spiffeIdFromIdentity } from '../identity/spiffe-id.js';
import { KeyStore } from '../keys/key-store.js';
import { resolveStateDir } from '../keys/state-dir.js';
import { CliUsageError } from './cli-error.js';

const USAGE = `usage: bulwark ca <command> [--state-dir DIR] [--module PATH]

  init --trust-domain TD [--root-days N]   create the root key in the CA token and a self-signed root
                                           (10 years by default); idempotent
  issue --identity NS/SA [--ttl-hours H]   generate the workload's key in its own token, sign its CSR there,
                                           and issue its SVID (spiffe://TD/ns/NS/sa/SA, 24 h by default)
  sign --csr FILE --spiffe-id URI          issue an SVID for a CSR made elsewhere

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
    const ca = CertificateAuthority.load(store);
    mkdirSync(certs, { recursive: true, mode: 0o700 });
    if (command === 'issue') {
      if (!values.identity) throw new CliUsageError(`issue needs --identity NS/SA\n${USAGE}`);
      const id = spiffeIdFromIdentity(ca.trustDomain, values.identity);
      const cert = await ca.issue(await workloadCsr(store, id), id, ttlMs);
      const token = workloadToken(id);
      const file = join(certs, `${token}.crt`);
      writeFileSync(file, cert.toString('pem') + '\n');
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
