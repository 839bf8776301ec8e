import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrap, httpListener, routeConfig, staticCluster } from './config-builder.js';
import { freePort } from './free-port.js';
import { startNginx, type RunningNginx } from './nginx.js';
import { startProxy, type RunningProxy } from './proxy-process.js';
import { makePki } from './tls-fixtures.js';

/** A proxy in front of nginx serving `/file.bin` over TLS and HTTP/2, closing each connection after a number of requests. */
export interface NginxTlsFiles {
  /** The proxy's plaintext listener (HTTP/1.1 and h2c). */
  port: number;
  proxy: RunningProxy;
  stop(): Promise<void>;
}

export async function startNginxTlsFiles(fileBytes: number, keepaliveRequests: number): Promise<NginxTlsFiles> {
  const pki = makePki();
  const www = mkdtempSync(join(tmpdir(), 'bulwark-www-'));
  writeFileSync(join(www, 'file.bin'), Buffer.alloc(fileBytes, 0x62), { mode: 0o644 });
  // nginx's worker may run as nobody.
  chmodSync(www, 0o755);
  const server = pki.issue('upstream', 'DNS:localhost');
  const upstreamPort = await freePort();
  const nginx: RunningNginx = await startNginx(
    `keepalive_requests ${keepaliveRequests};\n  server { listen 127.0.0.1:${upstreamPort} ssl http2; ssl_certificate ${server.cert}; ssl_certificate_key ${server.key}; root ${www}; }`,
    upstreamPort,
  );
  const port = await freePort();
  const tls = { transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { sni: 'localhost', commonTlsContext: { validationContext: { trustedCa: { filename: pki.caCert } } } } } };
  const cluster = staticCluster('nginx', [upstreamPort], { http2ProtocolOptions: {}, ...tls });
  const proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'nginx' } }]))], [cluster]));
  return {
    port,
    proxy,
    async stop() {
      await proxy.stop();
      await nginx.stop();
      rmSync(www, { recursive: true, force: true });
      rmSync(pki.dir, { recursive: true, force: true });
    },
  };
}
