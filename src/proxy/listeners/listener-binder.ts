import net from 'node:net';
import type { Listener } from '../../model/listener.js';

interface Bound {
  key: string;
  server: net.Server;
  port: number;
  /** The listener its connections go to; a reload that renames the listener on the same address changes it. */
  name: string;
}

/**
 * Keeps one listening socket per listener: opens new ones, closes removed ones, and keeps a socket
 * whose address is unchanged so a reload never refuses a connection.
 */
export class ListenerBinder {
  private bound = new Map<string, Bound>();

  constructor(
    private readonly onConnection: (listenerName: string, socket: net.Socket) => void,
    /** Accept with reading paused, for sockets that will be handed to another process. */
    private readonly pauseOnConnect = false,
  ) {}

  /**
   * Binds what `listeners` needs; rejects (closing what it opened, naming nothing anew) if any address
   * cannot be bound. A listener keeps its socket while its address stays; a listener that takes the
   * fixed address of one that left or moved (a rename) takes over that socket, since a second socket
   * could not bind the address while the first listens on it.
   */
  async apply(listeners: readonly Listener[]): Promise<void> {
    const byAddress = new Map<string, Bound>();
    for (const b of this.bound.values()) if (!b.key.endsWith(':0')) byAddress.set(b.key, b);
    const next = new Map<string, Bound>();
    const toOpen: Listener[] = [];
    for (const l of listeners) {
      const key = addressKey(l);
      const own = this.bound.get(l.name);
      const taken = own?.key === key ? own : l.address.socketAddress.portValue !== 0 ? byAddress.get(key) : undefined;
      if (taken) next.set(l.name, taken);
      else toOpen.push(l);
    }
    // Renamed sockets carry their connections to the new name now: the runtime already serves it.
    const previousNames = new Map([...next.values()].map((b) => [b, b.name]));
    for (const [name, b] of next) b.name = name;
    const opened: Bound[] = [];
    try {
      for (const l of toOpen) {
        const b = await this.open(l, addressKey(l));
        opened.push(b);
        next.set(l.name, b);
      }
    } catch (err) {
      for (const b of opened) b.server.close();
      for (const [b, name] of previousNames) b.name = name;
      throw err;
    }
    const kept = new Set(next.values());
    for (const b of this.bound.values()) if (!kept.has(b)) b.server.close();
    this.bound = next;
  }

  private open(l: Listener, key: string): Promise<Bound> {
    const { address, portValue } = l.address.socketAddress;
    const server = net.createServer({ pauseOnConnect: this.pauseOnConnect, noDelay: true });
    const bound: Bound = { key, server, port: 0, name: l.name };
    server.on('connection', (socket) => this.onConnection(bound.name, socket));
    return new Promise((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`listener "${l.name}": cannot listen on ${address}:${portValue}: ${(err as Error).message}`)));
      server.listen({ host: address, port: portValue, backlog: 1024 }, () => {
        server.removeAllListeners('error');
        server.on('error', () => undefined);
        bound.port = (server.address() as net.AddressInfo).port;
        resolve(bound);
      });
    });
  }

  /** The bound port of a listener (useful when the config asked for port 0). */
  portOf(name: string): number | undefined {
    return this.bound.get(name)?.port;
  }

  ports(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, b] of this.bound) out[name] = b.port;
    return out;
  }

  /** Stops accepting on the listeners named, letting their addresses go (another process is to bind them). */
  release(names: Iterable<string>): void {
    for (const name of names) {
      this.bound.get(name)?.server.close();
      this.bound.delete(name);
    }
  }

  /** Stops accepting on every listener. */
  close(): void {
    for (const b of this.bound.values()) b.server.close();
    this.bound.clear();
  }
}

function addressKey(l: Listener): string {
  return `${l.address.socketAddress.address}:${l.address.socketAddress.portValue}`;
}
