// The floor: a TCP relay on Node's net module, one upstream connection per client connection, no
// parsing at all. Correct only for this benchmark; it shows what Node itself costs per request.
import net from 'node:net';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
net
  .createServer((down) => {
    down.setNoDelay(true);
    const up = net.connect({ host: '127.0.0.1', port: upstreamPort, noDelay: true });
    down.on('data', (chunk) => up.write(chunk));
    up.on('data', (chunk) => down.write(chunk));
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
    down.on('error', () => down.destroy());
    up.on('error', () => up.destroy());
  })
  .listen(listenPort, '127.0.0.1');
