import net from 'node:net';
import type { Listener } from '../../model/listener.js';

/**
 * Binds each listener's address for a moment, in this process, and says why the first that cannot be
 * bound cannot. The primary asks before workers bind new addresses: a worker binds through node:cluster,
 * which keeps the socket it got from the primary open in the worker (and the primary's copy with it) when
 * the bind fails, so each reload refused for a taken port cost a descriptor in every process.
 */
export async function unbindableAddress(listeners: readonly Listener[]): Promise<string | undefined> {
  for (const l of listeners) {
    const { address, portValue } = l.address.socketAddress;
    const error = await new Promise<string | undefined>((resolve) => {
      const server = net.createServer();
      server.once('error', (err) => resolve(err.message));
      server.listen({ host: address, port: portValue }, () => server.close(() => resolve(undefined)));
    });
    if (error !== undefined) return `listener "${l.name}": cannot listen on ${address}:${portValue}: ${error}`;
  }
  return undefined;
}
