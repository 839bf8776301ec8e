import net from 'node:net';

/** Opens a TCP connection to `port` and says whether a byte comes back before the other side closes it. */
export function echoes(port: number): Promise<{ echoed: boolean; socket: net.Socket }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write('x'));
    socket.once('data', () => resolve({ echoed: true, socket }));
    socket.once('close', () => resolve({ echoed: false, socket }));
    socket.on('error', () => undefined);
  });
}
