import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Which PIN of a token: the user PIN grants use of its keys, the SO PIN only administration. */
export type PinKind = 'user' | 'so';

/**
 * Token PINs as 0600 files in the state directory. A PIN is generated once, at provisioning, and read
 * back by whoever needs to use the token; it never appears in logs, argv or config files.
 */
export class PinStore {
  constructor(private readonly dir: string) {}

  /** The path of a token's PIN file (proxies get this path, as an RFC 7512 pin-source, never the PIN). */
  path(token: string, kind: PinKind = 'user'): string {
    return join(this.dir, `${token}.${kind === 'user' ? 'pin' : 'so-pin'}`);
  }

  has(token: string, kind: PinKind = 'user'): boolean {
    return existsSync(this.path(token, kind));
  }

  read(token: string, kind: PinKind = 'user'): string {
    return readFileSync(this.path(token, kind), 'utf8');
  }

  /** Generates and stores a new random PIN; refuses to overwrite one (that would orphan the token). */
  create(token: string, kind: PinKind): string {
    const pin = randomBytes(18).toString('base64url');
    writeFileSync(this.path(token, kind), pin, { mode: 0o600, flag: 'wx' });
    return pin;
  }

  /** Forgets both PINs of a token whose provisioning failed. */
  remove(token: string): void {
    rmSync(this.path(token, 'user'), { force: true });
    rmSync(this.path(token, 'so'), { force: true });
  }
}
