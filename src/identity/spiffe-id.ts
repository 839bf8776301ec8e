/** A workload identity: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>. */
export interface SpiffeId {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

export class SpiffeIdError extends Error {
  override name = 'SpiffeIdError';
}

const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
const NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

/** Checks a trust domain as the SPIFFE spec allows it (lower-case letters, digits, ".", "-", "_"). */
export function validateTrustDomain(td: string): string {
  if (!TRUST_DOMAIN.test(td)) throw new SpiffeIdError(`invalid trust domain "${td}": lower-case letters, digits, ".", "-" and "_" only`);
  return td;
}

/** Parses and validates a SPIFFE ID of Istio's shape. */
export function parseSpiffeId(uri: string): SpiffeId {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (!m) throw new SpiffeIdError(`"${uri}" is not spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`);
  const [, trustDomain, namespace, serviceAccount] = m as unknown as [string, string, string, string];
  validateTrustDomain(trustDomain);
  for (const [what, v] of [['namespace', namespace], ['service account', serviceAccount]] as const) {
    if (!NAME.test(v)) throw new SpiffeIdError(`invalid ${what} "${v}" in ${uri}`);
  }
  return { trustDomain, namespace, serviceAccount };
}

export function formatSpiffeId(id: SpiffeId): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** "ns/sa" as the CLI takes it, in a trust domain. */
export function spiffeIdFromIdentity(trustDomain: string, identity: string): SpiffeId {
  const [ns, sa, ...rest] = identity.split('/');
  if (!ns || !sa || rest.length > 0) throw new SpiffeIdError(`identity must be <namespace>/<service-account>, got "${identity}"`);
  return parseSpiffeId(`spiffe://${trustDomain}/ns/${ns}/sa/${sa}`);
}
