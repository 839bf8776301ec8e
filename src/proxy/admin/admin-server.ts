import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderClustersJson, renderClustersText, type ClusterStatus } from './cluster-status.js';

/** What the admin endpoints read from the proxy. */
export interface AdminSource {
  prometheusText(): Promise<string>;
  /** Every cluster's hosts, merged over the worker processes. */
  clusterStatuses(): Promise<ClusterStatus[]>;
  configDump(): unknown;
  isReady(): boolean;
  listenerPorts(): Record<string, number>;
  /** Starts a graceful drain and exit. */
  quit(): void;
  /** Opens the access log files again by path (log rotation). */
  reopenLogs(): void;
}

const PROMETHEUS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Envoy-style admin endpoints: /stats/prometheus, /clusters, /config_dump, /ready, /healthz, /listeners, /reopen_logs, /quitquitquit. */
export class AdminServer {
  private readonly server: http.Server;

  constructor(private readonly source: AdminSource) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`admin error: ${(err as Error).message}\n`);
      });
    });
  }

  listen(address: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: address, port }, () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const [path, query = ''] = (req.url ?? '/').split('?', 2);
    switch (path) {
      case '/stats/prometheus': {
        const text = await this.source.prometheusText();
        res.writeHead(200, { 'content-type': PROMETHEUS_TYPE });
        res.end(text);
        return;
      }
      case '/clusters': {
        const statuses = await this.source.clusterStatuses();
        if (new URLSearchParams(query).get('format') === 'json') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(renderClustersJson(statuses), null, 2));
        } else {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(renderClustersText(statuses));
        }
        return;
      }
      case '/config_dump':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(this.source.configDump(), null, 2));
        return;
      case '/ready': {
        const ready = this.source.isReady();
        res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(ready ? 'LIVE\n' : 'NOT READY\n');
        return;
      }
      case '/healthz':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('OK\n');
        return;
      case '/listeners':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(this.source.listenerPorts()));
        return;
      case '/reopen_logs':
        if (req.method !== 'POST') {
          res.writeHead(405, { allow: 'POST' });
          res.end();
          return;
        }
        this.source.reopenLogs();
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('OK\n');
        return;
      case '/quitquitquit':
        if (req.method !== 'POST') {
          res.writeHead(405, { allow: 'POST' });
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('OK\n');
        this.source.quit();
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
    }
  }
}
