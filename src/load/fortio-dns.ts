import { lookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';

/** -resolve-ip-type: which addresses a name resolves to (Fortio's default: IPv4 only). */
export type ResolveIpType = string;
/** -dns-method: which of a name's addresses a new connection takes. */
export type DnsMethod = 'cached-rr' | 'rnd' | 'rr' | 'first';
export const DNS_METHODS: readonly string[] = ['cached-rr', 'rnd', 'rr', 'first'];

export interface DnsOptions {
  ipType: ResolveIpType;
  method: DnsMethod;
  /** -no-reresolve: a client keeps the address it resolved first for all its connections. */
  noReresolve: boolean;
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** All of a name's addresses, in the resolver's order (the system's getaddrinfo unless a test gives its own). */
export type LookupAll = (host: string, family: 0 | 4 | 6) => Promise<ResolvedAddress[]>;

export const systemLookupAll: LookupAll = (host, family) => lookup(host, { all: true, family });

/** A name that does not resolve, with Go's words ("lookup HOST: no such host"). */
export class DnsError extends Error {}

/**
 * Fortio's name resolution (fnet ResolveAll and ResolveByProto), shared by all of a run's
 * connections as Fortio's process-wide state is: the filter by -resolve-ip-type (ip4, ip6, ip for
 * both), and the pick among several addresses by -dns-method: cached-rr (the first lookup's list,
 * handed out in turn), rr (a lookup each time, its addresses in turn), first, rnd.
 */
export class FortioResolver {
  private cached: { host: string; addrs: ResolvedAddress[] } | undefined;
  private roundRobin = 0;

  constructor(
    readonly o: DnsOptions,
    private readonly lookupAll: LookupAll = systemLookupAll,
  ) {}

  /** ResolveAll: an IP as it is, else the name's addresses of the -resolve-ip-type family. */
  async resolveAll(host: string): Promise<ResolvedAddress[]> {
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    if (bare === '') throw new DnsError("can't resolve empty host");
    if (isIP(bare)) return [{ address: bare, family: isIP(bare) }];
    const type = this.o.ipType === '' ? 'ip' : this.o.ipType;
    const family = type === 'ip4' ? 4 : type === 'ip6' ? 6 : type === 'ip' ? 0 : undefined;
    // Go's LookupIP refuses a network it does not know.
    if (family === undefined) throw new DnsError(`unknown network ${type}`);
    let addrs: ResolvedAddress[];
    try {
      addrs = await this.lookupAll(bare, family);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new DnsError(`lookup ${bare}: ${code === 'ENOTFOUND' ? 'no such host' : code === 'ENODATA' ? 'no suitable address found' : (err as Error).message}`);
    }
    if (addrs.length === 0) throw new DnsError(`lookup ${bare}: no suitable address found`);
    return addrs;
  }

  /** ResolveByProto: the one address a new connection dials. */
  async resolve(host: string): Promise<ResolvedAddress> {
    if (this.o.method === 'cached-rr' && this.cached?.host === host) return this.nextCached(this.cached.addrs);
    const addrs = await this.resolveAll(host);
    if (addrs.length === 1) return addrs[0]!;
    switch (this.o.method) {
      case 'cached-rr':
        // Another connection may have filled the cache while this one looked up.
        if (this.cached?.host === host) return this.nextCached(this.cached.addrs);
        this.cached = { host, addrs };
        this.roundRobin = 1;
        return addrs[0]!;
      case 'rr':
        return addrs[this.roundRobin++ % addrs.length]!;
      case 'rnd':
        return addrs[Math.floor(Math.random() * addrs.length)]!;
      case 'first':
        return addrs[0]!;
    }
  }

  private nextCached(addrs: ResolvedAddress[]): ResolvedAddress {
    return addrs[this.roundRobin++ % addrs.length]!;
  }
}

/**
 * The addresses one client (Fortio's thread) dials: resolved as it is made and again for each new
 * connection after its first, unless -no-reresolve keeps the first (FastClient.connect).
 */
export class ClientAddress {
  private first: ResolvedAddress | undefined;

  constructor(
    private readonly resolver: FortioResolver,
    private readonly host: string,
  ) {}

  async next(): Promise<ResolvedAddress> {
    if (this.first !== undefined && this.resolver.o.noReresolve) return this.first;
    const a = await this.resolver.resolve(this.host);
    this.first ??= a;
    return a;
  }
}

/** A `lookup` for net.connect and tls.connect that dials the client's next address. */
export function dialLookup(address: ClientAddress): LookupFunction {
  return (_hostname, options, callback) => {
    address.next().then(
      (a) => (options.all ? callback(null, [a]) : callback(null, a.address, a.family)),
      (err: Error) => callback(Object.assign(err, { code: 'ENOTFOUND' }), '', 0),
    );
  };
}
