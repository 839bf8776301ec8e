/** OpenSSL errors that mean the key could not be used through keyd (engine, PKCS#11 module, p11-kit). */
const CUSTODY_ERROR = /PKCS#11|pkcs11|engine routines|p11-kit/i;
/**
 * The code OpenSSL puts in every error it raises ("error:418000A0:PKCS#11 module::PIN incorrect"). A
 * key config refused before OpenSSL is asked (a privateKey without --insecure-memory-keys, a pkcs11
 * provider without keyLabel) names the pkcs11 provider too, but is final: retrying it, or replacing
 * workers over it, only buries the reason under custody warnings.
 */
const OPENSSL_ERROR = /error:[0-9A-F]{8}:/i;
/**
 * The token refused the PIN itself (libp11's names for CKR_PIN_INCORRECT, _INVALID, _LEN_RANGE, _EXPIRED,
 * _LOCKED, CKR_USER_PIN_NOT_INITIALIZED). Trying again sends the same wrong PIN again, and a hardware token
 * locks its user PIN after a few of those: such an error is final, never retried or worked around by
 * fresh worker processes.
 */
const REFUSED_PIN = /PIN incorrect|PIN invalid|Invalid PIN length|PIN expired|PIN locked|User pin not initialized/i;

/**
 * Custody failures in a row, with no handshake signed between them, after which this process's
 * PKCS#11 session counts as broken. One failure alone can be a passing collision in the token
 * (SoftHSM rewrites a token's file on every login); a session that is gone fails every signature.
 */
export const SESSION_BROKEN_AFTER = 3;

/** Whether an OpenSSL error message says key custody (not the key's config) failed. */
export function isCustodyError(message: string): boolean {
  return OPENSSL_ERROR.test(message) && CUSTODY_ERROR.test(message) && !REFUSED_PIN.test(message);
}

/**
 * Whether this process can sign through keyd, as seen by its handshakes. A refused signature fails the
 * handshake (closed: there is no fallback key); the state feeds bulwark_keyd_available and
 * bulwark_keyd_signing_failures_total.
 */
export class KeyCustodyHealth {
  /** No custody failure since the last handshake that signed. */
  available = true;
  /** Handshakes that failed because key custody did not sign, since the process started. */
  failures = 0;
  /** Custody failures since the last handshake that signed. */
  consecutiveFailures = 0;
  private readonly firstFailureListeners: Array<() => void> = [];
  private readonly brokenListeners: Array<(failures: number) => void> = [];

  /** Called at the first failure after a signed handshake (a worker asks the primary whether keyd is away). */
  onFirstFailure(listener: () => void): void {
    this.firstFailureListeners.push(listener);
  }

  /** Called once when SESSION_BROKEN_AFTER failures came in a row (a worker asks for its replacement). */
  onSessionBroken(listener: (failures: number) => void): void {
    this.brokenListeners.push(listener);
  }

  /** Classifies a failed handshake; true when keyd (not the peer) was the cause. */
  noteFailure(err: Error): boolean {
    if (!isCustodyError(err.message)) return false;
    this.failures++;
    this.consecutiveFailures++;
    this.available = false;
    if (this.consecutiveFailures === 1) for (const l of this.firstFailureListeners) l();
    if (this.consecutiveFailures === SESSION_BROKEN_AFTER) for (const l of this.brokenListeners) l(this.consecutiveFailures);
    return true;
  }

  /** A handshake signed through keyd succeeded. Returns true when this ends a run of failures. */
  noteSuccess(): boolean {
    this.consecutiveFailures = 0;
    if (this.available) return false;
    this.available = true;
    return true;
  }
}

/** One per process: every listener signs through the same engine and the same keyd connection. */
export const keyCustodyHealth = new KeyCustodyHealth();
