import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { bulwark } from './load-support.js';

/*
 * Fortio's -halfclose: without keep-alive, its fast client shuts the sending side of the TCP
 * connection once the request is written (CloseWrite), and reads the response on the half that
 * stays open (fhttp/http_client.go StreamFetch).
 */

let server: net.Server;
let url = '';
/** For each request: whether the client's FIN came before the server answered. */
const finBeforeAnswer: boolean[] = [];

before(async () => {
  // The server waits up to 200 ms for the client's FIN before it answers, and notes whether it came.
  server = net.createServer({ allowHalfOpen: true }, (socket) => {
    let head = '';
    let ended = false;
    let answered = false;
    const answer = (): void => {
      if (answered) return;
      answered = true;
      finBeforeAnswer.push(ended);
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    };
    socket.on('error', () => socket.destroy());
    socket.on('end', () => {
      ended = true;
      if (head.includes('\r\n\r\n')) answer();
    });
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) setTimeout(answer, 200);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

after(() => server.close());

async function load(args: string[]): Promise<FortioResult> {
  const r = await bulwark(['load', '-quiet', '-qps', '0', '-c', '1', '-n', '3', '-json', '-', ...args, url]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as FortioResult;
}

test('-halfclose with -keepalive=false: the server reads the client\'s FIN after each request, and the response still arrives', async () => {
  finBeforeAnswer.length = 0;
  const r = await load(['-keepalive=false', '-halfclose']);
  assert.deepEqual(r.RetCodes, { '200': 3 });
  assert.equal(r.AllowHalfClose, true);
  assert.deepEqual(finBeforeAnswer, [true, true, true]);
});

test('without -halfclose, or with keep-alive, the sending side stays open until the response', async () => {
  finBeforeAnswer.length = 0;
  const closing = await load(['-keepalive=false']);
  assert.deepEqual(closing.RetCodes, { '200': 3 });
  assert.equal(closing.AllowHalfClose, false);
  const kept = await load(['-halfclose']);
  assert.deepEqual(kept.RetCodes, { '200': 3 }, 'the server closes after each response: a new connection per call');
  assert.deepEqual(finBeforeAnswer, [false, false, false, false, false, false]);
});
