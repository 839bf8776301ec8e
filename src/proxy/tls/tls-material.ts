import { readFileSync } from 'node:fs';
import type { DataSource, Secret, TlsCertificate } from '../../model/tls.js';

/** A TLS configuration error found while building contexts: names the secret or file. */
export class TlsMaterialError extends Error {
  override name = 'TlsMaterialError';
}

/** Reads a DataSource (file or inline PEM). */
export function readDataSource(ds: DataSource, what: string): string {
  if (ds.inlineString !== undefined) return ds.inlineString;
  try {
    return readFileSync(ds.filename!, 'utf8');
  } catch (err) {
    throw new TlsMaterialError(`${what}: cannot read ${ds.filename}: ${(err as Error).message}`);
  }
}

/** Looks up a named SDS secret among the snapshot's secrets. */
export function findSecret(secrets: readonly Secret[], name: string): Secret {
  const s = secrets.find((x) => x.name === name);
  if (!s) throw new TlsMaterialError(`secret "${name}" is not defined`);
  return s;
}

/** The certificates of a TLS context: inline ones plus those named through SDS. */
export function certificatesOf(inline: readonly TlsCertificate[], sdsNames: readonly { name: string }[], secrets: readonly Secret[]): TlsCertificate[] {
  const out = [...inline];
  for (const { name } of sdsNames) {
    const s = findSecret(secrets, name);
    if (!s.tlsCertificate) throw new TlsMaterialError(`secret "${name}" holds no tlsCertificate`);
    out.push(s.tlsCertificate);
  }
  return out;
}
