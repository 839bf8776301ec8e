import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';

/** Fortio reads each datagram into a buffer this big: a longer one comes back cut to it. */
const UDP_ECHO_BUFFER = 2048;

/** Fortio's UDP echo server (fnet.UDPEchoServer, `fortio server -udp-port`): each datagram goes back to its sender. */
export async function listenUdpEcho(address: string, port: number): Promise<{ socket: dgram.Socket; port: number }> {
  const socket = dgram.createSocket(isIPv6(address) ? 'udp6' : 'udp4');
  socket.on('message', (msg, from) => socket.send(msg.subarray(0, UDP_ECHO_BUFFER), from.port, from.address));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // A send that fails (the sender gone) must not end the server.
  socket.on('error', () => undefined);
  return { socket, port: socket.address().port };
}
