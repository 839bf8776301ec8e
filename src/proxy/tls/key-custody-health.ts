/** OpenSSL errors that mean the key could not be used through keyd (engine, PKCS#11 module, p11-kit). */
const CUSTODY_ERROR = /PKCS#11|pkcs11|engine routines|p11-kit/i;

/** Whether an OpenSSL error message says key custody (not the key's config) failed. */
export function isCustodyError(message: string): boolean {
  return CUSTODY_ERROR.test(message);
}

/**
 * Whether this process can sign through keyd, as seen by its handshakes. A refused signature fails the
 * handshake (closed: there is no fallback key); the state feeds bulwark_keyd_available.
 */
export class KeyCustodyHealth {
  available = true;
  failures = 0;
  private readonly outageListeners: Array<() => void> = [];

  /** Called once when an outage begins (a worker uses it to ask for its replacement). */
  onOutage(listener: () => void): void {
    this.outageListeners.push(listener);
  }

  /** Classifies a failed handshake; true when keyd (not the peer) was the cause. */
  noteFailure(err: Error): boolean {
    if (!isCustodyError(err.message)) return false;
    this.failures++;
    const began = this.available;
    this.available = false;
    if (began) for (const l of this.outageListeners) l();
    return true;
  }

  /** A handshake signed through keyd succeeded. Returns true when this ends an outage. */
  noteSuccess(): boolean {
    if (this.available) return false;
    this.available = true;
    return true;
  }
}

/** One per process: every listener signs through the same engine and the same keyd connection. */
export const keyCustodyHealth = new KeyCustodyHealth();
