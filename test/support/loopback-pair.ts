import net from 'node:net';

/** A loopback connection: the client side and the socket the server accepted. */
export async function acceptedPair(): Promise<{ client: net.Socket; socket: net.Socket; close: () => void }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const socket = await new Promise<net.Socket>((r) => server.once('connection', r));
  const close = (): void => {
    client.destroy();
    socket.destroy();
    server.close();
  };
  return { client, socket, close };
}

/** Resumes a paused socket and reads it until `until` ('end' or 'close'): how many bytes came, and the last one. */
export async function readToEnd(socket: net.Socket, until: 'end' | 'close'): Promise<{ bytes: number; last: number }> {
  let bytes = 0;
  let last = 0;
  socket.on('data', (d: Buffer) => {
    bytes += d.length;
    last = d[d.length - 1]!;
  });
  const done = new Promise((r) => socket.once(until, r));
  socket.resume();
  await done;
  return { bytes, last };
}
