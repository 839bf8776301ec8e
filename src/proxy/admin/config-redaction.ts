import { isSecretField } from '../../util/secret-fields.js';

/**
 * A deep copy of a config object with every private key's inline bytes, and any field that carries a
 * secret, replaced: /config_dump must never leak a key or a PIN, even one a config put where it
 * should not have.
 */
export function redactKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'privateKey' && v && typeof v === 'object' && 'inlineString' in v) out[k] = { inlineString: '[redacted]' };
    // inlineString outside a private key is certificate text (public): only other secret fields go.
    else if (k !== 'inlineString' && isSecretField(k) && (typeof v === 'string' || typeof v === 'number')) out[k] = '[redacted]';
    else out[k] = redactKeys(v);
  }
  return out;
}
