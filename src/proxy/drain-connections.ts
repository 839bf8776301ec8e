import type { ProxyRuntime } from './proxy-runtime.js';

/** How long the final GOAWAYs get to reach the wire (and idle sessions to close) before the process exits. */
const FINAL_GOAWAY_FLUSH_MS = 200;

async function waitForConnections(runtime: ProxyRuntime, deadline: number, cutShort?: AbortSignal): Promise<void> {
  while (runtime.liveConnections() > 0 && Date.now() < deadline && !cutShort?.aborted) await new Promise((r) => setTimeout(r, 50));
}

/**
 * A process's drain: connections are asked to finish (Connection: close, the first GOAWAY) and given
 * up to `drainMs`. HTTP/2 sessions still open then (idle ones whose drainTimeout is longer than the
 * process drain, or busy ones) get the final GOAWAY before the process leaves, so a client learns
 * which streams were taken instead of seeing its connection cut. `cutShort` (a second SIGTERM) ends the
 * wait for in-flight requests early; the final GOAWAY still goes out.
 */
export async function drainConnections(runtime: ProxyRuntime, drainMs: number, cutShort?: AbortSignal): Promise<void> {
  runtime.drain();
  await waitForConnections(runtime, Date.now() + drainMs, cutShort);
  runtime.finishDrain();
  await waitForConnections(runtime, Date.now() + FINAL_GOAWAY_FLUSH_MS);
}
