/**
 * A gRPC call (HTTP/2 from the client) routed to an HTTP/1.1-only cluster: the request goes chunked,
 * and the status the upstream sends in its last chunk's trailers reaches the @grpc/grpc-js client.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

const id = (b: Buffer): Buffer => b;
const unary = (name: string) => ({ path: `/t.T/${name}`, requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id });
const Client = grpc.makeGenericClientConstructor({ Echo: unary('Echo'), Missing: unary('Missing') } as unknown as grpc.ServiceDefinition, 'T');
type UnaryClient = grpc.Client & Record<'Echo' | 'Missing', (req: Buffer, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => grpc.ClientUnaryCall>;

let upstream: http.Server;
let proxy: RunningProxy;
let port: number;

/** An HTTP/1.1 gRPC server: Echo sends the request's message back, Missing fails NOT_FOUND; the status is in trailers. */
function serveGrpcOverHttp1(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (d: Buffer) => chunks.push(d));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/grpc', trailer: 'grpc-status, grpc-message, x-served-by' });
    if (req.url === '/t.T/Echo') {
      res.write(Buffer.concat(chunks));
      res.addTrailers({ 'grpc-status': '0', 'x-served-by': 'http1' });
    } else {
      res.addTrailers({ 'grpc-status': String(grpc.status.NOT_FOUND), 'grpc-message': 'no such thing', 'x-served-by': 'http1' });
    }
    res.end();
  });
}

before(async () => {
  upstream = http.createServer(serveGrpcOverHttp1);
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'h1' } }]);
  proxy = await startProxy(bootstrap([httpListener('grpc', port, routes)], [staticCluster('h1', [(upstream.address() as AddressInfo).port])]));
});
after(async () => {
  await proxy?.stop();
  upstream?.close();
});

function call(method: 'Echo' | 'Missing'): Promise<{ error: grpc.ServiceError | null; reply?: Buffer; status: grpc.StatusObject }> {
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as UnaryClient;
  return new Promise((resolve) => {
    let error: grpc.ServiceError | null = null;
    let reply: Buffer | undefined;
    const c = client[method](Buffer.from('hello'), (e, r) => {
      error = e;
      reply = r;
    });
    c.on('status', (status: grpc.StatusObject) => {
      // The callback runs before 'status' ends; the client closes once both have been read.
      setImmediate(() => {
        client.close();
        resolve({ error, reply, status });
      });
    });
  });
}

test('a gRPC call to an HTTP/1.1 cluster gets the reply and the status and metadata of its trailers', async () => {
  const { error, reply, status } = await call('Echo');
  assert.equal(error, null);
  assert.equal(reply?.toString(), 'hello');
  assert.equal(status.code, grpc.status.OK);
  assert.deepEqual(status.metadata.get('x-served-by'), ['http1']);
});

test('a gRPC call to an HTTP/1.1 cluster gets the error status and message of its trailers', async () => {
  const { error, status } = await call('Missing');
  assert.equal(error?.code, grpc.status.NOT_FOUND);
  assert.equal(error?.details, 'no such thing');
  assert.deepEqual(status.metadata.get('x-served-by'), ['http1']);
});
