import type http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { bootstrap, httpListener, routeConfig, staticCluster } from './config-builder.js';
import { freePort } from './free-port.js';
import { startProxy, type RunningProxy } from './proxy-process.js';

/** Listens `upstream` on loopback and starts a proxy that routes every request to it over HTTP/2. */
export async function proxyToH2Upstream(upstream: http2.Http2Server): Promise<{ proxy: RunningProxy; port: number }> {
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = await freePort();
  const proxy = await startProxy(
    bootstrap(
      [httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'h2' } }]))],
      [staticCluster('h2', [(upstream.address() as AddressInfo).port], { http2ProtocolOptions: {} })],
    ),
  );
  return { proxy, port };
}
