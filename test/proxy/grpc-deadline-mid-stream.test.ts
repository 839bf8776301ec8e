/**
 * A gRPC client's deadline (grpc-timeout, applied by a route's maxStreamDuration.grpcTimeoutHeaderMax)
 * running out while the response streams: the client reads DEADLINE_EXCEEDED, and the upstream's
 * call is cancelled. Real @grpc/grpc-js client and server over h2c; raw-byte messages.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

const id = (b: Buffer): Buffer => b;
const method = (name: string, requestStream: boolean) => ({ path: `/t.T/${name}`, requestStream, responseStream: true, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id });
const service = { Trickle: method('Trickle', false), Chat: method('Chat', true) } as unknown as grpc.ServiceDefinition;
const Client = grpc.makeGenericClientConstructor(service, 'T');
type StreamingClient = grpc.Client & {
  Trickle(req: Buffer, md: grpc.Metadata, o: grpc.CallOptions): grpc.ClientReadableStream<Buffer>;
  Chat(md: grpc.Metadata, o: grpc.CallOptions): grpc.ClientDuplexStream<Buffer, Buffer>;
};

let server: grpc.Server;
let proxy: RunningProxy;
let port: number;
const cancelled: string[] = [];

/** Writes a small message every 50 ms until the call is cancelled. */
function trickle(call: grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>, name: string): void {
  const timer = setInterval(() => call.write(Buffer.from('tick')), 50);
  call.on('cancelled', () => {
    clearInterval(timer);
    cancelled.push(name);
  });
}

before(async () => {
  server = new grpc.Server();
  server.addService(service, {
    Trickle: (call: grpc.ServerWritableStream<Buffer, Buffer>) => trickle(call, 'Trickle'),
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', () => undefined);
      trickle(call, 'Chat');
    },
  });
  const upstream = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  port = await freePort();
  // The offset makes the proxy's deadline fall 400 ms before the client's own.
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'g', timeout: '0s', maxStreamDuration: { grpcTimeoutHeaderMax: '0s', grpcTimeoutHeaderOffset: '0.4s' } } }]);
  proxy = await startProxy(bootstrap([httpListener('grpc', port, routes)], [staticCluster('g', [upstream], { http2ProtocolOptions: {} })]));
});
after(async () => {
  await proxy?.stop();
  server?.forceShutdown();
});

async function statusOf(call: grpc.ClientReadableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>): Promise<{ status: grpc.StatusObject; messages: number; ms: number }> {
  const start = Date.now();
  let messages = 0;
  call.on('data', () => messages++);
  call.on('error', () => undefined);
  const status = await new Promise<grpc.StatusObject>((res) => call.on('status', res));
  return { status, messages, ms: Date.now() - start };
}

async function waitForCancel(name: string): Promise<void> {
  for (let i = 0; i < 40 && !cancelled.includes(name); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(cancelled.includes(name), `the upstream's ${name} call was not cancelled: ${cancelled.join()}`);
}

test('a server-streaming call whose deadline runs out mid-response gets DEADLINE_EXCEEDED from the proxy', async () => {
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as StreamingClient;
  const { status, messages, ms } = await statusOf(client.Trickle(Buffer.from('go'), new grpc.Metadata(), { deadline: Date.now() + 1000 }));
  assert.ok(messages > 0, 'the response had begun');
  assert.equal(status.code, grpc.status.DEADLINE_EXCEEDED, status.details);
  // The proxy's answer, 400 ms before the client's own timer would have said the same.
  assert.equal(status.details, 'downstream duration timeout');
  assert.ok(ms < 900, `took ${ms} ms`);
  await waitForCancel('Trickle');
  client.close();
});

test('a bidi call still sending when its deadline runs out gets DEADLINE_EXCEEDED from the proxy', async () => {
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as StreamingClient;
  const call = client.Chat(new grpc.Metadata(), { deadline: Date.now() + 1000 });
  const sender = setInterval(() => call.write(Buffer.alloc(1000)), 20);
  const { status, messages, ms } = await statusOf(call);
  clearInterval(sender);
  assert.ok(messages > 0, 'the response had begun');
  assert.equal(status.code, grpc.status.DEADLINE_EXCEEDED, status.details);
  assert.equal(status.details, 'downstream duration timeout');
  assert.ok(ms < 900, `took ${ms} ms`);
  await waitForCancel('Chat');
  client.close();
});
