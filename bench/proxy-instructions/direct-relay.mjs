// The floor of Bulwark's own I/O layer: the same direct reads (read slabs) and direct writes the
// proxy uses, one upstream connection per client connection, and no HTTP work at all. Correct only
// for this benchmark. What Bulwark costs above it is its per-request HTTP logic, not its sockets.
import net from 'node:net';
import { deliverReadsDirectly } from '../../dist/src/proxy/http/direct-reads.js';
import { slabReads } from '../../dist/src/proxy/http/read-slab.js';
import { DirectWriter } from '../../dist/src/proxy/http/direct-writes.js';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
const bytesOf = (buf, length) => (length === buf.length ? buf : buf.subarray(0, length));

net
  .createServer((down) => {
    down.setNoDelay(true);
    const downWriter = new DirectWriter(down, () => undefined);
    const upReads = slabReads((buf, length) => downWriter.writeBuffer(bytesOf(buf, length)));
    const up = net.connect({ host: '127.0.0.1', port: upstreamPort, noDelay: true, onread: { buffer: upReads.buffer, callback: upReads.callback } });
    const upWriter = new DirectWriter(up, () => undefined);
    const early = [];
    up.once('connect', () => early.splice(0).forEach((b) => upWriter.writeBuffer(b)));
    const direct = deliverReadsDirectly(down, (buf, length) => {
      const bytes = bytesOf(buf, length);
      if (up.connecting) early.push(Buffer.from(bytes));
      else upWriter.writeBuffer(bytes);
    });
    if (!direct) throw new Error('this Node cannot deliver reads directly');
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
    down.on('error', () => down.destroy());
    up.on('error', () => up.destroy());
  })
  .listen(listenPort, '127.0.0.1');
