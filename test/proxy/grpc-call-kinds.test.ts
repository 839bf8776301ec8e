/**
 * gRPC through the proxy with @grpc/grpc-js over h2c and TLS: the four call kinds, a 6 MiB message,
 * binary metadata both ways, a trailers-only error, a client cancel and a deadline the upstream sees.
 * Messages are raw bytes (identity serializers), so no .proto is needed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';

const id = (b: Buffer): Buffer => b;
const m = (path: string, requestStream: boolean, responseStream: boolean) => ({ path: `/t.T/${path}`, requestStream, responseStream, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id });
const svc = { Unary: m('Unary', false, false), Server: m('Server', false, true), Client: m('Client', true, false), Bidi: m('Bidi', true, true) };
const Ctor = grpc.makeGenericClientConstructor(svc as unknown as grpc.ServiceDefinition, 'T');
type C = grpc.Client & Record<string, (...a: unknown[]) => any>;
const opts = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };

let server: grpc.Server;
let proxy: RunningProxy;
let plain: number, tls: number;
const pki = makePki();
let cancelledSeen = 0;
const events: string[] = [];

before(async () => {
  server = new grpc.Server(opts);
  server.addService(svc as unknown as grpc.ServiceDefinition, {
    Unary: (call: any, cb: any) => {
      const md = call.metadata as grpc.Metadata;
      const mode = String(md.get('mode')[0] ?? '');
      call.on('cancelled', () => { cancelledSeen++; events.push('unary-cancelled'); });
      if (mode === 'slow') { setTimeout(() => cb(null, call.request), 2000); return; }
      if (mode === 'fail') { const t = new grpc.Metadata(); t.set('x-why-bin', Buffer.from([0, 1, 2, 255])); cb({ code: grpc.status.FAILED_PRECONDITION, details: 'nope ü', metadata: t }); return; }
      const out = new grpc.Metadata();
      out.set('x-echo-bin', md.get('x-data-bin')[0] ?? Buffer.alloc(0));
      call.sendMetadata(out);
      const t = new grpc.Metadata();
      t.set('x-trailer-bin', Buffer.from([9, 8, 7, 0, 255]));
      cb(null, call.request, t);
    },
    Server: (call: any) => {
      const n = Number(call.request.toString());
      let i = 0;
      call.on('cancelled', () => { cancelledSeen++; events.push('server-cancelled'); clearInterval(t); });
      const t = setInterval(() => { if (i < n) call.write(Buffer.from(String(i++))); else { clearInterval(t); call.end(); } }, 5);
    },
    Client: (call: any, cb: any) => { let total = 0; call.on('data', (d: Buffer) => (total += d.length)); call.on('end', () => cb(null, Buffer.from(String(total)))); },
    Bidi: (call: any) => { call.on('data', (d: Buffer) => call.write(d)); call.on('end', () => call.end()); call.on('cancelled', () => { cancelledSeen++; events.push('bidi-cancelled'); }); },
  });
  const gport = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  plain = await freePort(); tls = await freePort();
  const cert = pki.issue('gw', 'DNS:localhost');
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'g', timeout: '0s' } }]);
  const tlsChain = { transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { commonTlsContext: { tlsCertificates: [{ certificateChain: { filename: cert.cert }, privateKey: { filename: cert.key } }] } } } };
  proxy = await startProxy(bootstrap([httpListener('p', plain, routes), httpListener('t', tls, routes, {}, tlsChain)], [staticCluster('g', [gport], { http2ProtocolOptions: {} })]), { extraArgs: ['--insecure-memory-keys'] });
});
after(async () => { await proxy?.stop(); server.forceShutdown(); });

for (const mode of ['h2c', 'tls'] as const) {
  const client = (): C => mode === 'h2c' ? new Ctor(`127.0.0.1:${plain}`, grpc.credentials.createInsecure(), opts) as C : new Ctor(`localhost:${tls}`, grpc.credentials.createSsl(readFileSync(pki.caCert)), opts) as C;

  test(`${mode}: unary large + bin metadata`, async () => {
    const c = client();
    const big = Buffer.alloc(6 * 1024 * 1024); for (let i = 0; i < big.length; i += 997) big[i] = i & 255;
    const md = new grpc.Metadata(); md.set('x-data-bin', Buffer.from([0, 255, 10, 13, 0]));
    let head: grpc.Metadata | undefined; let trail: grpc.Metadata | undefined;
    const got = await new Promise<Buffer>((res, rej) => { const call = c.Unary(big, md, (e: any, r: Buffer) => (e ? rej(e) : res(r))); call.on('metadata', (x: grpc.Metadata) => (head = x)); call.on('status', (s: grpc.StatusObject) => (trail = s.metadata)); });
    assert.ok(got.equals(big));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(head!.get('x-echo-bin')[0], Buffer.from([0, 255, 10, 13, 0]));
    assert.deepEqual(trail!.get('x-trailer-bin')[0], Buffer.from([9, 8, 7, 0, 255]));
    c.close();
  });

  test(`${mode}: trailers-only failure`, async () => {
    const c = client();
    const md = new grpc.Metadata(); md.set('mode', 'fail');
    const err = await new Promise<grpc.ServiceError>((res) => c.Unary(Buffer.from('x'), md, (e: any) => res(e)));
    assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(err.details, 'nope ü');
    assert.deepEqual(err.metadata.get('x-why-bin')[0], Buffer.from([0, 1, 2, 255]));
    c.close();
  });

  test(`${mode}: server, client, bidi streaming`, async () => {
    const c = client();
    const s = c.Server(Buffer.from('50'));
    const got: string[] = [];
    s.on('data', (d: Buffer) => got.push(d.toString()));
    await new Promise((r, j) => { s.on('end', r); s.on('error', j); });
    assert.equal(got.length, 50);
    const total = await new Promise<string>((res, rej) => { const w = c.Client((e: any, r: Buffer) => (e ? rej(e) : res(r.toString()))); for (let i = 0; i < 20; i++) w.write(Buffer.alloc(300_000, i)); w.end(); });
    assert.equal(total, String(20 * 300_000));
    const b = c.Bidi();
    let n = 0; let bytes = 0;
    b.on('data', (d: Buffer) => { n++; bytes += d.length; });
    for (let i = 0; i < 30; i++) b.write(Buffer.alloc(i * 100_000 + 1, i));
    b.end();
    await new Promise((r, j) => { b.on('end', r); b.on('error', j); });
    assert.equal(n, 30);
    c.close();
  });

  test(`${mode}: cancel mid-stream reaches upstream`, async () => {
    const c = client();
    const before = cancelledSeen;
    const s = c.Server(Buffer.from('100000'));
    await new Promise((r) => s.once('data', r));
    s.on('error', () => undefined);
    s.cancel();
    for (let i = 0; i < 40 && cancelledSeen === before; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(cancelledSeen, before + 1, events.join());
    c.close();
  });

  test(`${mode}: deadline`, async () => {
    const c = client();
    const before = cancelledSeen;
    const md = new grpc.Metadata(); md.set('mode', 'slow');
    const t0 = Date.now();
    const err = await new Promise<grpc.ServiceError>((res) => c.Unary(Buffer.from('x'), md, { deadline: Date.now() + 300 }, (e: any) => res(e)));
    assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - t0 < 1500);
    for (let i = 0; i < 40 && cancelledSeen === before; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(cancelledSeen, before + 1, events.join());
    c.close();
  });
}
