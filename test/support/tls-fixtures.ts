import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  caCert: string;
  caKey: string;
  /** Issues a leaf signed by the test CA; SANs like "DNS:localhost,URI:spiffe://td/ns/a/sa/b". */
  issue(name: string, sans: string, opts?: { days?: number }): { cert: string; key: string };
}

/** A throwaway CA made with the openssl CLI, ECDSA P-256 like the mesh's own. */
export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-pki-'));
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  const ossl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKey, '-out', caCert, '-subj', '/CN=Bulwark Test CA', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return {
    dir,
    caCert,
    caKey,
    issue(name, sans, opts = {}) {
      const key = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const cert = join(dir, `${name}.crt`);
      const ext = join(dir, `${name}.ext`);
      ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
      execFileSync('sh', ['-c', `printf 'subjectAltName=${sans}\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth,clientAuth\\n' > ${ext}`]);
      ossl(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-extfile', ext, '-days', String(opts.days ?? 1)]);
      return { cert, key };
    },
  };
}

export function pem(path: string): string {
  return readFileSync(path, 'utf8');
}
