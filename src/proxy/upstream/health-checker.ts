import type { Socket } from 'node:net';
import type { Cluster, HealthCheck } from '../../model/cluster.js';
import type { TransportConnector } from '../http/h1-connection-pool.js';
import { proxyLogger } from '../proxy-log.js';
import type { Host } from './host.js';

const hcLog = proxyLogger('hc');

/** The status line is all a check reads; a longer answer without one is a failure. */
const MAX_STATUS_LINE = 4096;

interface HostProbe {
  host: Host;
  timer: NodeJS.Timeout | undefined;
  failures: number;
  successes: number;
  socket: Socket | undefined;
}

/**
 * Active health checking: probes every host each interval (HTTP GET expecting a status range, or a
 * TCP connect) over the cluster's own transport, so TLS clusters are checked over TLS. A host goes
 * down after unhealthyThreshold consecutive failures and comes back after healthyThreshold successes.
 * New hosts start healthy and are probed at once, so a config push does not cause a burst of 503s.
 */
export class HealthChecker {
  private readonly probes = new Map<Host, HostProbe>();
  private closed = false;

  constructor(
    private cluster: Cluster,
    private check: HealthCheck,
    private connector: TransportConnector,
    private readonly onChange: (host: Host, healthy: boolean) => void,
  ) {}

  update(cluster: Cluster, check: HealthCheck, connector: TransportConnector): void {
    this.cluster = cluster;
    this.check = check;
    this.connector = connector;
  }

  /** Starts probing hosts not yet probed and stops probing hosts that left. */
  setHosts(hosts: readonly Host[]): void {
    const live = new Set(hosts);
    for (const [host, probe] of this.probes) {
      if (live.has(host)) continue;
      this.stopProbe(probe);
      this.probes.delete(host);
    }
    for (const host of hosts) {
      if (this.probes.has(host)) continue;
      const probe: HostProbe = { host, timer: undefined, failures: 0, successes: 0, socket: undefined };
      this.probes.set(host, probe);
      this.schedule(probe, 0);
    }
  }

  close(): void {
    this.closed = true;
    for (const probe of this.probes.values()) this.stopProbe(probe);
    this.probes.clear();
  }

  private stopProbe(probe: HostProbe): void {
    if (probe.timer) clearTimeout(probe.timer);
    probe.timer = undefined;
    probe.socket?.destroy();
    probe.socket = undefined;
  }

  private schedule(probe: HostProbe, delay: number): void {
    if (this.closed) return;
    probe.timer = setTimeout(() => this.run(probe), delay);
    probe.timer.unref();
  }

  private run(probe: HostProbe): void {
    probe.timer = undefined;
    if (this.closed || !this.probes.has(probe.host)) return;
    const check = this.check;
    const host = probe.host;
    let settled = false;
    let received = '';
    const socket = this.connector.connect(host.address, host.port);
    probe.socket = socket;
    const finish = (ok: boolean, why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      socket.destroy();
      probe.socket = undefined;
      this.record(probe, ok, why);
      // Interval jitter up to 10% keeps workers and proxies from probing in lockstep.
      this.schedule(probe, check.interval + Math.random() * check.interval * 0.1);
    };
    const deadline = setTimeout(() => finish(false, 'timeout'), check.timeout);
    deadline.unref();
    socket.on('error', (err) => finish(false, err.message));
    socket.on('close', () => finish(false, 'connection closed before a status line'));
    socket.once(this.connector.readyEvent, () => {
      const http = check.httpHealthCheck;
      if (!http) {
        finish(true, 'connected');
        return;
      }
      const authority = http.host ?? this.cluster.name;
      socket.write(`GET ${http.path} HTTP/1.1\r\nhost: ${authority}\r\nuser-agent: bulwark-health-check\r\nconnection: close\r\n\r\n`);
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        received += chunk;
        const eol = received.indexOf('\r\n');
        if (eol < 0) {
          if (received.length > MAX_STATUS_LINE) finish(false, 'no status line');
          return;
        }
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(received.slice(0, eol));
        if (!m) {
          finish(false, 'malformed status line');
          return;
        }
        const status = Number(m[1]);
        const ok = http.expectedStatuses.some((r) => status >= r.start && status < r.end);
        finish(ok, `status ${status}`);
      });
    });
  }

  private record(probe: HostProbe, ok: boolean, why: string): void {
    const host = probe.host;
    if (ok) {
      probe.failures = 0;
      probe.successes++;
      if (host.failedActiveHealthCheck && probe.successes >= this.check.healthyThreshold) {
        host.failedActiveHealthCheck = false;
        hcLog('info', 'upstream host passed health checks', { cluster: this.cluster.name, host: host.key });
        this.onChange(host, true);
      }
      return;
    }
    probe.successes = 0;
    probe.failures++;
    if (!host.failedActiveHealthCheck && probe.failures >= this.check.unhealthyThreshold) {
      host.failedActiveHealthCheck = true;
      hcLog('warn', 'upstream host failed health checks', { cluster: this.cluster.name, host: host.key, reason: why });
      this.onChange(host, false);
    }
  }
}
