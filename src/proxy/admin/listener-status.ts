/**
 * Envoy's /listeners: each listener's name and bound address, as `name::address:port` lines, or as
 * ListenerStatuses JSON with `?format=json`. The port is the bound one (a listener on port 0 shows
 * the port it got).
 */
import type { Listener } from '../../model/listener.js';

interface BoundListener {
  name: string;
  address: string;
  port: number;
}

/** Each listener of the config with the port it is bound to (its configured one until bound). */
export function boundListeners(listeners: readonly Listener[], ports: Record<string, number>): BoundListener[] {
  return listeners.map((l) => ({ name: l.name, address: l.address.socketAddress.address, port: ports[l.name] ?? l.address.socketAddress.portValue }));
}

/** `name::address:port` lines, an IPv6 address in brackets, as Envoy writes them. */
export function renderListenersText(listeners: readonly BoundListener[]): string {
  return listeners.map((l) => `${l.name}::${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}\n`).join('');
}

/** Envoy's ListenerStatuses JSON. */
export function renderListenersJson(listeners: readonly BoundListener[]): unknown {
  return { listener_statuses: listeners.map((l) => ({ name: l.name, local_address: { socket_address: { address: l.address, port_value: l.port } } })) };
}
