import net from 'node:net';

/** Writes raw bytes and collects the reply until `done` says so, the peer closes, or the time is up. */
export function rawExchange(port: number, data: string, done: (s: string) => boolean, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    const t = setTimeout(() => {
      s.destroy();
      resolve(out);
    }, timeoutMs);
    s.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (done(out)) {
        clearTimeout(t);
        s.destroy();
        resolve(out);
      }
    });
    s.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
    s.on('error', reject);
    s.write(data, 'latin1');
  });
}
