/** A deep copy of a config object with every private key's inline bytes replaced: /config_dump must never leak a key. */
export function redactKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'privateKey' && v && typeof v === 'object' && 'inlineString' in v) out[k] = { inlineString: '[redacted]' };
    else out[k] = redactKeys(v);
  }
  return out;
}
