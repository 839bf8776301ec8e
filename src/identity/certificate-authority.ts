import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import type { KeyStore } from '../keys/key-store.js';
import type { TokenSession } from '../keys/pkcs11-token.js';
import { formatSpiffeId, parseSpiffeId, validateTrustDomain, type SpiffeId } from './spiffe-id.js';
import { tokenCrypto, tokenKey } from './token-crypto.js';

/** The CA's token and key label: the root key is generated there and never leaves it. */
export const CA_TOKEN = 'ca';
export const CA_KEY = 'ca-root';
/** Istio's defaults: 24 h workload certificates, a 10-year self-signed root. */
export const DEFAULT_SVID_TTL_MS = 24 * 3600 * 1000;
export const DEFAULT_ROOT_DAYS = 3650;

const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

export class CaError extends Error {
  override name = 'CaError';
}

/** Where the CA keeps its public material (certificates only; the key is in the token). */
export function caDir(store: KeyStore): string {
  return join(store.layout.root, 'ca');
}

function publicSpki(session: TokenSession, label: string): ArrayBuffer {
  const der = session.publicKey(label).export({ type: 'spki', format: 'der' });
  return der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer;
}

/**
 * The mesh CA: a root (10 years by default) whose key is in the CA token, and X.509 SVIDs issued from
 * CSRs with the SPIFFE ID as the only identity (URI SAN), ECDSA P-256, 24 h by default. Every
 * signature is made inside the token through PKCS#11.
 */
export class CertificateAuthority {
  private constructor(
    private readonly store: KeyStore,
    readonly trustDomain: string,
    readonly root: x509.X509Certificate,
    /** The token label of the active root's key (a new one per root rotation). */
    private readonly rootKey: string,
  ) {}

  /** Creates the root key and certificate unless they exist; then loads the CA. */
  static async init(store: KeyStore, trustDomain: string, rootDays = DEFAULT_ROOT_DAYS): Promise<CertificateAuthority> {
    validateTrustDomain(trustDomain);
    const dir = caDir(store);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const rootFile = join(dir, 'root.crt');
    if (!existsSync(rootFile)) {
      const cert = await selfSignedRoot(store, trustDomain, CA_KEY, rootDays);
      writeFileSync(join(dir, 'trust-domain'), `${trustDomain}\n`);
      activate(dir, cert, CA_KEY);
      writeFileSync(join(dir, 'bundle.pem'), cert.toString('pem') + '\n', { mode: 0o644 });
    }
    return CertificateAuthority.load(store);
  }

  /**
   * Root rotation, first step: a new root key and certificate become active (new SVIDs chain to it) and
   * the trust bundle holds both roots, so peers with old and new SVIDs trust each other while workloads
   * renew. `retireOldRoots` ends the overlap.
   */
  static async rotateRoot(store: KeyStore, rootDays = DEFAULT_ROOT_DAYS): Promise<CertificateAuthority> {
    const current = CertificateAuthority.load(store);
    const label = `${CA_KEY}-${Date.now().toString(36)}`;
    const cert = await selfSignedRoot(store, current.trustDomain, label, rootDays);
    const dir = caDir(store);
    const bundle = readFileSync(join(dir, 'bundle.pem'), 'utf8').trimEnd();
    writeFileAtomic(join(dir, 'bundle.pem'), `${bundle}\n${cert.toString('pem')}\n`);
    activate(dir, cert, label);
    return CertificateAuthority.load(store);
  }

  /** Root rotation, last step: the bundle keeps only the active root. */
  static retireOldRoots(store: KeyStore): CertificateAuthority {
    const ca = CertificateAuthority.load(store);
    writeFileAtomic(join(caDir(store), 'bundle.pem'), ca.root.toString('pem') + '\n');
    return ca;
  }

  /** Roots in the trust bundle. */
  static bundleSize(store: KeyStore): number {
    return (readFileSync(join(caDir(store), 'bundle.pem'), 'utf8').match(/BEGIN CERTIFICATE/g) ?? []).length;
  }

  /** Loads an initialised CA. */
  static load(store: KeyStore): CertificateAuthority {
    const dir = caDir(store);
    const rootFile = join(dir, 'root.crt');
    if (!existsSync(rootFile)) throw new CaError(`no CA in ${store.layout.root} (run bulwark ca init)`);
    const td = readFileSync(join(dir, 'trust-domain'), 'utf8').trim();
    const keyFile = join(dir, 'root-key-label');
    const rootKey = existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : CA_KEY;
    return new CertificateAuthority(store, td, new x509.X509Certificate(readFileSync(rootFile, 'utf8')), rootKey);
  }

  /** The trust bundle proxies verify peers against. */
  get bundlePath(): string {
    return join(caDir(this.store), 'bundle.pem');
  }

  /**
   * Signs an SVID for `id` from a CSR. The CSR proves possession of the key; the identity comes from
   * the caller (who authenticated the workload), never from names in the CSR.
   */
  async issue(csrPem: string, id: SpiffeId, ttlMs = DEFAULT_SVID_TTL_MS): Promise<x509.X509Certificate> {
    if (id.trustDomain !== this.trustDomain) throw new CaError(`identity ${formatSpiffeId(id)} is outside trust domain ${this.trustDomain}`);
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch (err) {
      throw new CaError(`unreadable CSR: ${(err as Error).message}`);
    }
    const verifier = webcrypto as unknown as Crypto;
    if (!(await csr.verify(verifier))) throw new CaError('the CSR signature does not verify (no proof of key possession)');
    const alg = csr.publicKey.algorithm as EcKeyAlgorithm;
    if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256') throw new CaError(`workload keys must be ECDSA P-256, got ${alg.name} ${alg.namedCurve ?? ''}`.trim());
    const spiffe = formatSpiffeId(parseSpiffeId(formatSpiffeId(id)));
    const now = Date.now();
    // Never past the root's own expiry.
    const notAfter = new Date(Math.min(now + ttlMs, this.root.notAfter.getTime()));
    return this.store.withTokenAsync(CA_TOKEN, async (s) => {
      const crypto = tokenCrypto();
      return x509.X509CertificateGenerator.create(
        {
          serialNumber: serial(),
          subject: `O=${this.trustDomain}`,
          issuer: this.root.subject,
          notBefore: new Date(now - 60_000),
          notAfter,
          publicKey: csr.publicKey,
          signingKey: tokenKey(s, this.rootKey),
          signingAlgorithm: ECDSA_SHA256,
          extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
            // The subject is empty of identity, so the SAN is critical (RFC 5280 §4.2.1.6), as Istio does.
            new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffe }], true),
            await x509.AuthorityKeyIdentifierExtension.create(this.root.publicKey, false, crypto),
          ],
        },
        crypto,
      );
    });
  }
}

/** A workload's token label: PKCS#11 labels hold 32 bytes, so it is a digest of the identity. */
export function workloadToken(id: SpiffeId): string {
  return `wl-${createHash('sha256').update(formatSpiffeId(id)).digest('hex').slice(0, 16)}`;
}

export const WORKLOAD_KEY = 'svid';

/** Generates the workload's key in its own token (if needed) and a CSR signed there. */
export async function workloadCsr(store: KeyStore, id: SpiffeId): Promise<string> {
  const token = workloadToken(id);
  store.ensureKey(token, WORKLOAD_KEY, 'ec-p256');
  return store.withTokenAsync(token, async (s) => {
    const crypto = tokenCrypto();
    const csr = await x509.Pkcs10CertificateRequestGenerator.create(
      {
        name: `O=${id.trustDomain}`,
        keys: { publicKey: (await crypto.subtle.importKey('spki', publicSpki(s, WORKLOAD_KEY), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify'])) as CryptoKey, privateKey: tokenKey(s, WORKLOAD_KEY) },
        signingAlgorithm: ECDSA_SHA256,
        extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: formatSpiffeId(id) }])],
      },
      crypto,
    );
    return csr.toString('pem');
  });
}

/** A self-signed root whose key `label` is generated in the CA token. */
async function selfSignedRoot(store: KeyStore, trustDomain: string, label: string, rootDays: number): Promise<x509.X509Certificate> {
  store.ensureKey(CA_TOKEN, label, 'ec-p256');
  return store.withTokenAsync(CA_TOKEN, async (s) => {
    const crypto = tokenCrypto();
    const spki = publicSpki(s, label);
    const now = Date.now();
    const name = `O=${trustDomain}, CN=Bulwark Root CA ${new Date(now).toISOString().slice(0, 19)}`;
    return x509.X509CertificateGenerator.create(
      {
        serialNumber: serial(),
        subject: name,
        issuer: name,
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + rootDays * 86_400_000),
        publicKey: spki,
        signingKey: tokenKey(s, label),
        signingAlgorithm: ECDSA_SHA256,
        extensions: [
          new x509.BasicConstraintsExtension(true, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          await x509.SubjectKeyIdentifierExtension.create(spki, false, crypto),
        ],
      },
      crypto,
    );
  });
}

function activate(dir: string, root: x509.X509Certificate, keyLabel: string): void {
  writeFileAtomic(join(dir, 'root.crt'), root.toString('pem') + '\n');
  writeFileAtomic(join(dir, 'root-key-label'), `${keyLabel}\n`);
}

/** Written beside and renamed, so a proxy watching the file never reads half of it. */
function writeFileAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text, { mode: 0o644 });
  renameSync(`${path}.tmp`, path);
}

function serial(): string {
  const b = randomBytes(16);
  b[0]! &= 0x7f; // positive
  return b.toString('hex');
}
