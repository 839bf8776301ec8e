import { DnsError, type FortioResolver } from './fortio-dns.js';
import { LoadAbortedError } from './load-aborted-error.js';

/** A tcp:// or udp:// load target: the protocol and the destination as given (Fortio's Destination). */
export interface SocketEchoTarget {
  protocol: 'tcp' | 'udp';
  destination: string;
}

/** Where one connection (Fortio's thread) sends its calls. */
export interface SocketEchoPeer {
  ip: string;
  port: number;
}

/**
 * Resolves a tcp:// or udp:// destination as Fortio does (fnet.ResolveDestinationInternal): the
 * prefix and one trailing "/" dropped, host and port split at the last ":", the port a number, the
 * host an IP (IPv6 in brackets) or a name resolved to the -resolve-ip-type addresses (IPv4 by
 * default). A name with several addresses gives them out by -dns-method: in turn, one per connection
 * counted over all -workers (cached-rr, rr), the first, or one at random (rnd). A destination that
 * does not resolve stops the run with Fortio's words.
 */
export async function resolveSocketEcho(t: SocketEchoTarget, connections: number, first: number, resolver: FortioResolver): Promise<SocketEchoPeer[]> {
  const fail = (why: string): never => {
    // RunTCPTest / RunUDPTest: the first client's creation fails.
    throw new LoadAbortedError(`unable to create client 0 for ${t.destination}: ${why}`);
  };
  let dest = t.destination.slice(`${t.protocol}://`.length);
  if (dest.endsWith('/')) dest = dest.slice(0, -1);
  const colon = dest.lastIndexOf(':');
  if (colon < 0) return fail(`destination '${dest}' is not host:port format`);
  const host = dest.slice(0, colon);
  const portText = dest.slice(colon + 1);
  // Go's LookupPort: digits (an empty port is 0); a service name is looked up, which Bulwark does not do.
  if (!/^\d*$/.test(portText)) return fail(`lookup ${t.protocol}/${portText}: unknown port`);
  const port = Number(portText);
  if (port > 65535) return fail(`address ${portText}: invalid port`);
  let ips: string[];
  try {
    ips = (await resolver.resolveAll(host)).map((a) => a.address);
  } catch (err) {
    if (err instanceof DnsError) return fail(err.message);
    throw err;
  }
  const pick = (k: number): string => {
    if (resolver.o.method === 'first') return ips[0]!;
    if (resolver.o.method === 'rnd') return ips[Math.floor(Math.random() * ips.length)]!;
    return ips[(first + k) % ips.length]!;
  };
  return Array.from({ length: connections }, (_, k) => ({ ip: pick(k), port }));
}
