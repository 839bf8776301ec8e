/**
 * The x-forwarded-client-cert (XFCC) header, as Envoy's HTTP connection manager builds it
 * (forward_client_cert_details / set_current_client_cert_details): the application behind a
 * sidecar learns who called it over mTLS, e.g.
 * `By=spiffe://td/ns/a/sa/server;Hash=<sha256 of the client cert>;URI=spiffe://td/ns/b/sa/client`.
 * The default, SANITIZE, drops any XFCC a client sent: an application that trusts the header
 * must never see one a caller made up.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { ClientCertDetailsSet, ForwardClientCertDetails } from '../../model/listener.js';
import { hasVerifiedPeer } from '../tls/peer-verification.js';
import { sansOfType } from '../tls/san-match.js';

/** What to send upstream for `incoming` (the XFCC the client sent, if any); undefined sends none. */
export function forwardedClientCert(
  mode: ForwardClientCertDetails,
  details: ClientCertDetailsSet,
  socket: TLSSocket | undefined,
  incoming: string | undefined,
): string | undefined {
  if (mode === 'SANITIZE') return undefined;
  if (mode === 'ALWAYS_FORWARD_ONLY') return incoming;
  const element = socket === undefined ? '' : clientCertElement(socket, details);
  // The other modes act only on mutual TLS: without a client certificate the header is dropped.
  if (element === '') return undefined;
  if (mode === 'FORWARD_ONLY') return incoming;
  if (mode === 'APPEND_FORWARD' && incoming !== undefined && incoming !== '') return `${incoming},${element}`;
  return element;
}

const elements = new WeakMap<TLSSocket, { details: ClientCertDetailsSet; element: string }>();

/** This connection's XFCC element ('' when the client sent no certificate), built once per connection. */
export function clientCertElement(socket: TLSSocket, details: ClientCertDetailsSet): string {
  const cached = elements.get(socket);
  if (cached !== undefined && cached.details === details) return cached.element;
  const element = buildElement(socket, details);
  elements.set(socket, { details, element });
  return element;
}

function buildElement(socket: TLSSocket, details: ClientCertDetailsSet): string {
  const peer = hasVerifiedPeer(socket) ? socket.getPeerX509Certificate() : undefined;
  if (peer === undefined) return '';
  const parts: string[] = [];
  const local = socket.getX509Certificate();
  const by = local === undefined ? undefined : sansOfType(local.subjectAltName, 'URI')[0];
  if (by !== undefined) parts.push(`By=${by}`);
  parts.push(`Hash=${createHash('sha256').update(peer.raw).digest('hex')}`);
  if (details.cert) parts.push(`Cert="${encodeURIComponent(peer.toString())}"`);
  if (details.chain) parts.push(`Chain="${encodeURIComponent(chainPem(peer))}"`);
  if (details.subject) parts.push(`Subject="${rfc2253(peer.subject).replace(/(["\\])/g, '\\$1')}"`);
  if (details.uri) for (const uri of sansOfType(peer.subjectAltName, 'URI')) parts.push(`URI=${uri}`);
  if (details.dns) for (const dns of sansOfType(peer.subjectAltName, 'DNS')) parts.push(`DNS=${dns}`);
  return parts.join(';');
}

/** The peer's certificate and the issuers it sent, PEM. */
function chainPem(peer: X509Certificate): string {
  let pem = '';
  let cert: X509Certificate | undefined = peer;
  // issuerCertificate is set only on certificates from a TLS peer; a self-issued one ends the walk.
  for (let i = 0; cert !== undefined && i < 10; i++) {
    pem += cert.toString();
    const next: X509Certificate | undefined = cert.issuerCertificate;
    cert = next !== undefined && next.fingerprint256 !== cert.fingerprint256 ? next : undefined;
  }
  return pem;
}

/** Node's subject ("C=US\nO=Org\nCN=name", issuing order) as an RFC 2253 string ("CN=name,O=Org,C=US"). */
function rfc2253(subject: string): string {
  return subject
    .split('\n')
    .filter((line) => line !== '')
    .reverse()
    .map((line) => {
      const eq = line.indexOf('=');
      return `${line.slice(0, eq)}=${line.slice(eq + 1).replace(/([,+"\\<>;])/g, '\\$1')}`;
    })
    .join(',');
}
