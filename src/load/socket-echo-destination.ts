import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
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
 * host an IP (IPv6 in brackets) or a name resolved to IPv4 addresses (Fortio's -resolve-ip-type
 * ip4). A name with several addresses gives them out in turn, one per connection (its cached-rr).
 * A destination that does not resolve stops the run with Fortio's words.
 */
export async function resolveSocketEcho(t: SocketEchoTarget, connections: number, first: number): Promise<SocketEchoPeer[]> {
  const fail = (why: string): never => {
    // RunTCPTest / RunUDPTest: the first client's creation fails.
    throw new LoadAbortedError(`unable to create client 0 for ${t.destination}: ${why}`);
  };
  let dest = t.destination.slice(`${t.protocol}://`.length);
  if (dest.endsWith('/')) dest = dest.slice(0, -1);
  const colon = dest.lastIndexOf(':');
  if (colon < 0) return fail(`destination '${dest}' is not host:port format`);
  let host = dest.slice(0, colon);
  const portText = dest.slice(colon + 1);
  // Go's LookupPort: digits (an empty port is 0); a service name is looked up, which Bulwark does not do.
  if (!/^\d*$/.test(portText)) return fail(`lookup ${t.protocol}/${portText}: unknown port`);
  const port = Number(portText);
  if (port > 65535) return fail(`address ${portText}: invalid port`);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') return fail("can't resolve empty host");
  let ips: string[];
  if (isIP(host)) ips = [host];
  else {
    try {
      ips = (await lookup(host, { family: 4, all: true })).map((a) => a.address);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return fail(`lookup ${host}: ${e.code === 'ENOTFOUND' || e.code === 'ENODATA' ? 'no such host' : e.message}`);
    }
  }
  return Array.from({ length: connections }, (_, k) => ({ ip: ips[(first + k) % ips.length]!, port }));
}
