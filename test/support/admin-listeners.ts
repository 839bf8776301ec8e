import type { RunningProxy } from './proxy-process.js';

/** Listener ports by name, from the admin's /listeners?format=json (Envoy's ListenerStatuses). */
export async function listenerPorts(proxy: RunningProxy): Promise<Record<string, number>> {
  const body = JSON.parse((await proxy.get('/listeners?format=json')).body) as { listener_statuses: Array<{ name: string; local_address: { socket_address: { port_value: number } } }> };
  return Object.fromEntries(body.listener_statuses.map((l) => [l.name, l.local_address.socket_address.port_value]));
}
