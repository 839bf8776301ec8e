import net, { type AddressInfo } from 'node:net';

/**
 * Fortio's TCP echo server (fnet.TCPEchoServer, `fortio server -tcp-port`): every byte a
 * connection sends comes back on it, and the connection closes when the client's side ends.
 */
export async function listenTcpEcho(address: string, port: number): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    socket.pipe(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
