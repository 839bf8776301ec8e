/**
 * An HTTP/2 upstream that completes its response while the HTTP/2 client is still sending: the
 * client must read the response's end (trailers, or END_STREAM) before the RST_STREAM NO_ERROR that
 * stops its upload (RFC 9113 §8.1). node:http2 submits trailers from a setImmediate of its own; the
 * reset submitted at once went out first and nghttp2 dropped the trailers: a gRPC bidi call the
 * server ended read "RST_STREAM with code 0" instead of its status, and nghttp saw nginx's early
 * 413 end in a reset with no END_STREAM.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startNginx, type RunningNginx } from '../support/nginx.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

const run = promisify(execFile);
const identity = (b: Buffer): Buffer => b;
const bidi = { path: '/t.T/Bidi', requestStream: true, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
const service = { Bidi: bidi } as unknown as grpc.ServiceDefinition;
const Client = grpc.makeGenericClientConstructor(service, 'T');
const dir = mkdtempSync(join(tmpdir(), 'bulwark-early-end-'));
const bodyFile = join(dir, 'body.bin');
let server: grpc.Server;
let nginx: RunningNginx;
let proxy: RunningProxy;
let port: number;

before(async () => {
  writeFileSync(bodyFile, Buffer.alloc(200_000, 0x61));
  server = new grpc.Server();
  // Answers the first message and ends the call with a status while the client still streams.
  server.addService(service, {
    Bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.once('data', (d: Buffer) => {
        call.write(d);
        const trailers = new grpc.Metadata();
        trailers.set('x-verdict', 'enough');
        call.end(trailers);
      });
    },
  });
  const grpcPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const nginxPort = await freePort();
  nginx = await startNginx(`server { listen 127.0.0.1:${nginxPort} http2; location / { return 413; } }`, nginxPort);
  port = await freePort();
  const routes = routeConfig([
    { match: { prefix: '/t.T/' }, route: { cluster: 'grpc', timeout: '0s' } },
    { match: { prefix: '/' }, route: { cluster: 'nginx' } },
  ]);
  const h2 = { http2ProtocolOptions: {} };
  proxy = await startProxy(bootstrap([httpListener('h', port, routes)], [staticCluster('grpc', [grpcPort], h2), staticCluster('nginx', [nginxPort], h2)]));
});

after(async () => {
  await proxy?.stop();
  await nginx?.stop();
  server?.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

test('a gRPC call the server ends while the client still streams reads its status and trailers', async () => {
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Bidi(): grpc.ClientDuplexStream<Buffer, Buffer> };
  try {
    for (let i = 0; i < 5; i++) {
      const call = client.Bidi();
      const replies: Buffer[] = [];
      call.on('data', (d: Buffer) => replies.push(d));
      call.on('error', () => undefined);
      const status = await new Promise<grpc.StatusObject>((resolve) => {
        call.on('status', resolve);
        // Keeps sending, never half-closes: the server's end comes first.
        const timer = setInterval(() => call.write(Buffer.alloc(1024, 0x62)), 2);
        call.on('status', () => clearInterval(timer));
        call.write(Buffer.from('first'));
      });
      assert.equal(status.code, grpc.status.OK, `call ${i}: ${status.details}`);
      assert.deepEqual(status.metadata.get('x-verdict'), ['enough']);
      assert.equal(Buffer.concat(replies).toString(), 'first');
    }
  } finally {
    client.close();
  }
});

test("nginx's early 413 reaches nghttp with END_STREAM before the reset of the upload", async () => {
  const { stdout } = await run('nghttp', ['-v', '-d', bodyFile, `http://127.0.0.1:${port}/upload`], { timeout: 20_000 });
  assert.match(stdout, /:status: 413/, stdout);
  // The last frame of the response carries END_STREAM, and it comes before any RST_STREAM.
  const frames = stdout.split('\n').filter((l) => /recv (DATA|HEADERS|RST_STREAM) frame/.test(l) && /stream_id=13/.test(l));
  const ended = frames.findIndex((l) => /flags=0x0[15]/.test(l));
  const reset = frames.findIndex((l) => /RST_STREAM/.test(l));
  assert.ok(ended >= 0, `no END_STREAM on the response:\n${frames.join('\n')}`);
  assert.ok(reset < 0 || reset > ended, `RST_STREAM before END_STREAM:\n${frames.join('\n')}`);
});
