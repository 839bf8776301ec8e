import net from 'node:net';
import type { Listener } from '../../model/listener.js';

interface Bound {
  key: string;
  server: net.Server;
  port: number;
}

/**
 * Keeps one listening socket per listener: opens new ones, closes removed ones, and keeps a socket
 * whose address is unchanged so a reload never refuses a connection.
 */
export class ListenerBinder {
  private readonly bound = new Map<string, Bound>();

  constructor(
    private readonly onConnection: (listenerName: string, socket: net.Socket) => void,
    /** Accept with reading paused, for sockets that will be handed to another process. */
    private readonly pauseOnConnect = false,
  ) {}

  /** Binds what `listeners` needs; rejects (closing what it opened) if any address cannot be bound. */
  async apply(listeners: readonly Listener[]): Promise<void> {
    const wanted = new Map(listeners.map((l) => [l.name, l]));
    const opened: Array<[string, Bound]> = [];
    try {
      for (const l of listeners) {
        const key = addressKey(l);
        const existing = this.bound.get(l.name);
        if (existing && existing.key === key) continue;
        opened.push([l.name, await this.open(l, key)]);
      }
    } catch (err) {
      for (const [, b] of opened) b.server.close();
      throw err;
    }
    for (const [name, b] of opened) {
      this.bound.get(name)?.server.close();
      this.bound.set(name, b);
    }
    for (const [name, b] of this.bound) {
      if (!wanted.has(name)) {
        b.server.close();
        this.bound.delete(name);
      }
    }
  }

  private open(l: Listener, key: string): Promise<Bound> {
    const { address, portValue } = l.address.socketAddress;
    const server = net.createServer({ pauseOnConnect: this.pauseOnConnect, noDelay: true });
    server.on('connection', (socket) => this.onConnection(l.name, socket));
    return new Promise((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`listener "${l.name}": cannot listen on ${address}:${portValue}: ${(err as Error).message}`)));
      server.listen({ host: address, port: portValue, backlog: 1024 }, () => {
        server.removeAllListeners('error');
        server.on('error', () => undefined);
        resolve({ key, server, port: (server.address() as net.AddressInfo).port });
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

  /** Stops accepting on every listener. */
  close(): void {
    for (const b of this.bound.values()) b.server.close();
    this.bound.clear();
  }
}

function addressKey(l: Listener): string {
  return `${l.address.socketAddress.address}:${l.address.socketAddress.portValue}`;
}
