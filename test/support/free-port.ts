import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * Ports below the kernel's ephemeral range. A port the kernel hands out for `listen(0)` comes from
 * that range, which is also where outgoing connections take their source ports: between this
 * function freeing such a port and a proxy binding it, a connection of the same test could take it
 * (EADDRINUSE). Ports below the range are never given to outgoing connections.
 */
function belowEphemeralRange(): [number, number] | undefined {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return low > 12_000 ? [10_000, low] : undefined;
  } catch {
    return undefined;
  }
}

const RANGE = belowEphemeralRange();
/**
 * Ports the Fetch standard blocks ("bad ports"): fetch() refuses them outright, so a proxy or admin
 * server there is unreachable for tests that use fetch. 10080 is the only one in 10000-65535.
 */
const FETCH_BLOCKED = new Set([10080]);
/** Ports handed out by this process: one not bound yet still tests free, and must not be handed out twice. */
const handedOut = new Set<number>();

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => {
      const bound = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(bound));
    });
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago, outside the range outgoing connections use when it can. */
export async function freePort(): Promise<number> {
  if (RANGE !== undefined) {
    const [from, to] = RANGE;
    for (let i = 0; i < 50; i++) {
      const candidate = from + Math.floor(Math.random() * (to - from));
      if (handedOut.has(candidate) || FETCH_BLOCKED.has(candidate)) continue;
      const port = await tryListen(candidate);
      if (port !== undefined) {
        handedOut.add(port);
        return port;
      }
    }
  }
  const port = await tryListen(0);
  if (port === undefined) throw new Error('no free port');
  return port;
}
