import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import pkcs11js from 'pkcs11js';

/** A key type keyd generates or imports. ECDSA P-256 is the default (cheapest handshake signature). */
export type KeyType = 'ec-p256' | 'rsa-2048' | 'rsa-3072';

/** What `keys list` shows of a key: labels, type and flags; never key material. */
export interface KeyInfo {
  token: string;
  label: string;
  id: string;
  type: 'EC' | 'RSA' | 'other';
  sensitive: boolean;
  extractable: boolean;
  alwaysSensitive: boolean;
  neverExtractable: boolean;
  /** Generated inside the token (true) or imported (false). */
  local: boolean;
}

/** The key in a PEM file, or a TokenError that says why it cannot be read (the message never quotes the file). */
function readPrivateKey(pem: string | Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // OpenSSL 3 reports an encrypted key read without a passphrase as its passphrase prompt cancelled.
    if (code === 'ERR_MISSING_PASSPHRASE' || code === 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED') throw new TokenError('the private key is encrypted: import an unencrypted PEM (it is overwritten and removed once in the token)');
    throw new TokenError('no private key in the file: expected a PEM private key (PKCS#8, SEC1 or PKCS#1)');
  }
}

export class TokenError extends Error {
  override name = 'TokenError';
}

function tokenLabel(info: pkcs11js.TokenInfo): string {
  return info.label.replace(/[\0 ]+$/, '');
}

/** A CK_ULONG attribute value (native-endian, 8 bytes on x86_64). */
function ulong(b: Buffer): number {
  return Number(b.length === 8 ? b.readBigUInt64LE(0) : b.readUInt32LE(0));
}

const P256_OID = Buffer.from('06082a8648ce3d030107', 'hex');

/** A loaded PKCS#11 module (SoftHSM2 in keyd, p11-kit-client.so elsewhere), initialised once. */
export class Pkcs11Module {
  private readonly lib = new pkcs11js.PKCS11();

  constructor(path: string) {
    this.lib.load(path);
    this.lib.C_Initialize();
  }

  /** The slot holding the token with this label, if any. */
  findToken(label: string): Buffer | undefined {
    for (const slot of this.lib.C_GetSlotList(true)) {
      const info = this.lib.C_GetTokenInfo(slot);
      if (info.flags & pkcs11js.CKF_TOKEN_INITIALIZED && tokenLabel(info) === label) return slot;
    }
    return undefined;
  }

  tokenLabels(): string[] {
    return this.lib
      .C_GetSlotList(true)
      .map((s) => this.lib.C_GetTokenInfo(s))
      .filter((i) => i.flags & pkcs11js.CKF_TOKEN_INITIALIZED)
      .map(tokenLabel);
  }

  /** Initialises a fresh token in a free slot, then sets its user PIN. */
  initToken(label: string, soPin: string, userPin: string): void {
    if (Buffer.byteLength(label) > 32) throw new TokenError(`token label "${label}" is longer than 32 bytes`);
    const free = this.lib.C_GetSlotList(true).find((s) => !(this.lib.C_GetTokenInfo(s).flags & pkcs11js.CKF_TOKEN_INITIALIZED));
    if (!free) throw new TokenError('the PKCS#11 module has no free slot for a new token');
    // PKCS#11 labels are blank-padded to 32 bytes; pkcs11js would pad with NULs.
    this.lib.C_InitToken(free, soPin, label.padEnd(32, ' '));
    const slot = this.findToken(label);
    if (!slot) throw new TokenError(`token "${label}" did not appear after initialisation`);
    const session = this.lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      this.lib.C_Login(session, pkcs11js.CKU_SO, soPin);
      this.lib.C_InitPIN(session, userPin);
      this.lib.C_Logout(session);
    } finally {
      this.lib.C_CloseSession(session);
    }
  }

  /** Opens a logged-in session on a token. */
  open(label: string, pin: string): TokenSession {
    const slot = this.findToken(label);
    if (!slot) throw new TokenError(`no token labelled "${label}"`);
    const session = this.lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      this.lib.C_Login(session, pkcs11js.CKU_USER, pin);
    } catch (err) {
      this.lib.C_CloseSession(session);
      throw new TokenError(`login to token "${label}" failed: ${(err as Error).message}`);
    }
    return new TokenSession(this.lib, session, label);
  }

  close(): void {
    this.lib.C_Finalize();
    this.lib.close();
  }
}

/** A logged-in session on one token: key generation, import, listing and signing. */
export class TokenSession {
  constructor(
    private readonly lib: pkcs11js.PKCS11,
    private readonly session: Buffer,
    readonly token: string,
  ) {}

  /** Generates a key pair inside the token: sensitive, never extractable. */
  generateKeyPair(label: string, type: KeyType): void {
    this.refuseDuplicate(label);
    const id = randomBytes(8);
    const common = [
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_LABEL, value: label },
      { type: pkcs11js.CKA_ID, value: id },
    ];
    const priv = [
      ...common,
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      { type: pkcs11js.CKA_SIGN, value: true },
    ];
    if (type === 'ec-p256') {
      this.lib.C_GenerateKeyPair(
        this.session,
        { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
        [...common, { type: pkcs11js.CKA_EC_PARAMS, value: P256_OID }, { type: pkcs11js.CKA_VERIFY, value: true }],
        priv,
      );
    } else {
      this.lib.C_GenerateKeyPair(
        this.session,
        { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
        [
          ...common,
          { type: pkcs11js.CKA_MODULUS_BITS, value: type === 'rsa-2048' ? 2048 : 3072 },
          { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
          { type: pkcs11js.CKA_VERIFY, value: true },
        ],
        priv,
      );
    }
  }

  /** Brings an existing private key (PEM) into the token; from then on it is sensitive and non-extractable. */
  importPrivateKey(label: string, pem: string | Buffer): KeyType {
    this.refuseDuplicate(label);
    const key = readPrivateKey(pem);
    const jwk = key.export({ format: 'jwk' });
    const b = (v: string | undefined): Buffer => Buffer.from(v ?? '', 'base64url');
    const id = randomBytes(8);
    const common = [
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_LABEL, value: label },
      { type: pkcs11js.CKA_ID, value: id },
    ];
    const privFlags = [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      { type: pkcs11js.CKA_SIGN, value: true },
    ];
    if (jwk.kty === 'EC') {
      if (jwk.crv !== 'P-256') throw new TokenError(`only EC keys on P-256 are supported (got ${jwk.crv})`);
      const point = Buffer.concat([Buffer.from([0x04, 0x41, 0x04]), b(jwk.x), b(jwk.y)]);
      this.lib.C_CreateObject(this.session, [...common, ...privFlags, { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC }, { type: pkcs11js.CKA_EC_PARAMS, value: P256_OID }, { type: pkcs11js.CKA_VALUE, value: b(jwk.d) }]);
      this.lib.C_CreateObject(this.session, [...common, { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY }, { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC }, { type: pkcs11js.CKA_EC_PARAMS, value: P256_OID }, { type: pkcs11js.CKA_EC_POINT, value: point }, { type: pkcs11js.CKA_VERIFY, value: true }]);
      return 'ec-p256';
    }
    if (jwk.kty === 'RSA') {
      const bits = b(jwk.n).length * 8;
      if (bits !== 2048 && bits !== 3072) throw new TokenError(`only RSA-2048 and RSA-3072 keys are supported (got ${bits} bits)`);
      this.lib.C_CreateObject(this.session, [
        ...common,
        ...privFlags,
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA },
        { type: pkcs11js.CKA_MODULUS, value: b(jwk.n) },
        { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: b(jwk.e) },
        { type: pkcs11js.CKA_PRIVATE_EXPONENT, value: b(jwk.d) },
        { type: pkcs11js.CKA_PRIME_1, value: b(jwk.p) },
        { type: pkcs11js.CKA_PRIME_2, value: b(jwk.q) },
        { type: pkcs11js.CKA_EXPONENT_1, value: b(jwk.dp) },
        { type: pkcs11js.CKA_EXPONENT_2, value: b(jwk.dq) },
        { type: pkcs11js.CKA_COEFFICIENT, value: b(jwk.qi) },
      ]);
      this.lib.C_CreateObject(this.session, [...common, { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY }, { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA }, { type: pkcs11js.CKA_MODULUS, value: b(jwk.n) }, { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: b(jwk.e) }, { type: pkcs11js.CKA_VERIFY, value: true }]);
      return bits === 2048 ? 'rsa-2048' : 'rsa-3072';
    }
    throw new TokenError(`unsupported key type ${String(jwk.kty)}`);
  }

  /** Labels, types and flags of the token's private keys. */
  listKeys(): KeyInfo[] {
    return this.find(pkcs11js.CKO_PRIVATE_KEY).map((h) => {
      const a = this.lib.C_GetAttributeValue(this.session, h, [
        { type: pkcs11js.CKA_LABEL },
        { type: pkcs11js.CKA_ID },
        { type: pkcs11js.CKA_KEY_TYPE },
        { type: pkcs11js.CKA_SENSITIVE },
        { type: pkcs11js.CKA_EXTRACTABLE },
        { type: pkcs11js.CKA_ALWAYS_SENSITIVE },
        { type: pkcs11js.CKA_NEVER_EXTRACTABLE },
        { type: pkcs11js.CKA_LOCAL },
      ]);
      const v = a.map((x) => x.value as Buffer);
      const keyType = ulong(v[2]!);
      return {
        token: this.token,
        label: v[0]!.toString(),
        id: v[1]!.toString('hex'),
        type: keyType === pkcs11js.CKK_EC ? 'EC' : keyType === pkcs11js.CKK_RSA ? 'RSA' : 'other',
        sensitive: v[3]![0] === 1,
        extractable: v[4]![0] === 1,
        alwaysSensitive: v[5]![0] === 1,
        neverExtractable: v[6]![0] === 1,
        local: v[7]![0] === 1,
      };
    });
  }

  /** The public half of a key pair, as a Node KeyObject (read from the token's public key object). */
  publicKey(label: string): KeyObject {
    const h = this.find(pkcs11js.CKO_PUBLIC_KEY, label)[0];
    if (!h) throw new TokenError(`no public key "${label}" in token "${this.token}"`);
    const [type] = this.lib.C_GetAttributeValue(this.session, h, [{ type: pkcs11js.CKA_KEY_TYPE }]);
    const kt = ulong(type!.value as Buffer);
    if (kt === pkcs11js.CKK_EC) {
      const [pt] = this.lib.C_GetAttributeValue(this.session, h, [{ type: pkcs11js.CKA_EC_POINT }]);
      const der = pt!.value as Buffer;
      const raw = der[0] === 0x04 && der.length === 67 ? der.subarray(2) : der;
      return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33, 65).toString('base64url') }, format: 'jwk' });
    }
    const [n, e] = this.lib.C_GetAttributeValue(this.session, h, [{ type: pkcs11js.CKA_MODULUS }, { type: pkcs11js.CKA_PUBLIC_EXPONENT }]);
    return createPublicKey({ key: { kty: 'RSA', n: (n!.value as Buffer).toString('base64url'), e: (e!.value as Buffer).toString('base64url') }, format: 'jwk' });
  }

  /** Signs a SHA-256 digest with an EC key inside the token; returns the raw r||s signature. */
  signDigestEcdsa(label: string, digest: Buffer): Buffer {
    const h = this.find(pkcs11js.CKO_PRIVATE_KEY, label)[0];
    if (!h) throw new TokenError(`no private key "${label}" in token "${this.token}"`);
    this.lib.C_SignInit(this.session, { mechanism: pkcs11js.CKM_ECDSA }, h);
    return this.lib.C_Sign(this.session, digest, Buffer.alloc(72));
  }

  hasKey(label: string): boolean {
    return this.find(pkcs11js.CKO_PRIVATE_KEY, label).length > 0;
  }

  close(): void {
    try {
      this.lib.C_Logout(this.session);
    } catch {
      // Already logged out (another session of this token closed the login state).
    }
    this.lib.C_CloseSession(this.session);
  }

  private refuseDuplicate(label: string): void {
    if (this.hasKey(label)) throw new TokenError(`token "${this.token}" already holds a key labelled "${label}"`);
  }

  private find(cls: number, label?: string): Buffer[] {
    const tpl: pkcs11js.Template = [{ type: pkcs11js.CKA_CLASS, value: cls }];
    if (label !== undefined) tpl.push({ type: pkcs11js.CKA_LABEL, value: label });
    this.lib.C_FindObjectsInit(this.session, tpl);
    try {
      return this.lib.C_FindObjects(this.session, 100);
    } finally {
      this.lib.C_FindObjectsFinal(this.session);
    }
  }
}
