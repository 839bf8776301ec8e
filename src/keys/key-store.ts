import { existsSync, writeFileSync } from 'node:fs';
import { PinStore } from './pin-store.js';
import { Pkcs11Module, TokenError, type KeyInfo, type KeyType, type TokenSession } from './pkcs11-token.js';
import { ensureStateDirs, stateLayout, type StateLayout } from './state-dir.js';

const SOFTHSM_CANDIDATES = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', '/usr/lib64/pkcs11/libsofthsm2.so', '/usr/local/lib/softhsm/libsofthsm2.so'];

/** The PKCS#11 module keyd serves: SoftHSM2 unless a path (a real HSM, tpm2-pkcs11, a cloud HSM) is given. */
export function defaultTokenModule(): string {
  const found = SOFTHSM_CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new TokenError(`SoftHSM2 is not installed (looked for ${SOFTHSM_CANDIDATES.join(', ')}); install softhsm2 or pass --module`);
  return found;
}

/** Writes SoftHSM2's config (token directory inside the state directory) and points this process at it. */
export function configureSoftHsm(layout: StateLayout): void {
  if (!existsSync(layout.softhsmConf)) {
    writeFileSync(layout.softhsmConf, `directories.tokendir = ${layout.tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`, { mode: 0o600 });
  }
  process.env.SOFTHSM2_CONF = layout.softhsmConf;
}

/**
 * The tokens of one state directory, reached in-process through the token module: provisioning
 * (token + PIN generation), key generation and import, listing. One token per identity, each with its
 * own PIN, so one workload's PIN cannot use another's key.
 */
export class KeyStore {
  readonly layout: StateLayout;
  readonly pins: PinStore;
  private module: Pkcs11Module | undefined;

  constructor(
    root: string,
    readonly modulePath: string = defaultTokenModule(),
  ) {
    this.layout = stateLayout(root);
    ensureStateDirs(this.layout);
    if (modulePath.includes('softhsm')) configureSoftHsm(this.layout);
    this.pins = new PinStore(this.layout.pins);
  }

  private lib(): Pkcs11Module {
    this.module ??= new Pkcs11Module(this.modulePath);
    return this.module;
  }

  /** Creates the token (with fresh SO and user PINs) unless it exists. Returns true when it was created. */
  ensureToken(label: string): boolean {
    if (this.lib().findToken(label)) {
      if (!this.pins.has(label)) throw new TokenError(`token "${label}" exists but its PIN file ${this.pins.path(label)} is missing`);
      return false;
    }
    // PINs are written before the token exists, so a crash cannot leave a token nobody can log in to.
    const so = this.pins.create(label, 'so');
    const user = this.pins.create(label, 'user');
    try {
      this.lib().initToken(label, so, user);
    } catch (err) {
      this.pins.remove(label);
      throw err;
    }
    return true;
  }

  /** Runs fn with a logged-in session on a token. */
  withToken<T>(label: string, fn: (s: TokenSession) => T): T {
    const s = this.lib().open(label, this.pins.read(label));
    try {
      return fn(s);
    } finally {
      s.close();
    }
  }

  /** Runs an async fn with a logged-in session on a token; the session closes when it settles. */
  async withTokenAsync<T>(label: string, fn: (s: TokenSession) => Promise<T>): Promise<T> {
    const s = this.lib().open(label, this.pins.read(label));
    try {
      return await fn(s);
    } finally {
      s.close();
    }
  }

  /** Ensures the token, then generates the key unless the token already holds one with this label. */
  ensureKey(token: string, label: string, type: KeyType = 'ec-p256'): void {
    this.ensureToken(token);
    this.withToken(token, (s) => {
      if (!s.hasKey(label)) s.generateKeyPair(label, type);
    });
  }

  tokens(): string[] {
    return this.lib().tokenLabels();
  }

  /** Every key of every token whose PIN this store holds. */
  listKeys(): KeyInfo[] {
    const out: KeyInfo[] = [];
    for (const t of this.tokens()) {
      if (this.pins.has(t)) out.push(...this.withToken(t, (s) => s.listKeys()));
    }
    return out;
  }

  close(): void {
    this.module?.close();
    this.module = undefined;
  }
}
