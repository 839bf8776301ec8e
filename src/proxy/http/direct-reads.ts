/**
 * Direct reads for accepted sockets: what Node's `onread` option does for sockets we connect,
 * applied to sockets a server hands us (Node offers no option for those).
 *
 * Why: every 'data' event on a downstream connection costs a fresh buffer, a trip through Readable's
 * push machinery and a nextTick (maybeReadMore) per read: ~6k instructions of the proxy's per-request
 * budget (bench/proxy-instructions). With a user buffer, libuv reads into a ReadSlab and Node calls
 * our callback, exactly as for a client socket created with `onread`.
 *
 * How: net.Socket keeps the `onread` state under three symbols it sets on every socket (kBuffer,
 * kBufferCb, kBufferGen); setting them and pointing the handle at the first buffer
 * (`useUserBuffer`) is what the Socket constructor does for `onread`. Those are internals, so this
 * checks for every piece first and returns false when one is missing: the caller then keeps
 * 'data' events, which stay correct on any Node version.
 */
import net from 'node:net';
import { slabReads, type ReadHandler } from './read-slab.js';

interface OnreadSymbols {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

let symbols: OnreadSymbols | null | undefined;

function onreadSymbols(socket: net.Socket): OnreadSymbols | null {
  if (symbols !== undefined) return symbols;
  const bySymbol = new Map(Object.getOwnPropertySymbols(socket).map((s) => [s.description, s]));
  const buffer = bySymbol.get('kBuffer');
  const callback = bySymbol.get('kBufferCb');
  const generator = bySymbol.get('kBufferGen');
  symbols = buffer && callback && generator ? { buffer, callback, generator } : null;
  return symbols;
}

interface UserBufferHandle {
  useUserBuffer?: (buf: Uint8Array) => void;
}

/**
 * Makes `socket` (an accepted plain TCP socket, before it has delivered any data through 'data')
 * hand each read to `onData` instead of emitting 'data'. Bytes already buffered in the socket are
 * delivered first. False when this Node cannot do it; the socket is then untouched.
 */
export function deliverReadsDirectly(socket: net.Socket, onData: ReadHandler): boolean {
  if (socket.constructor !== net.Socket || socket.listenerCount('data') > 0) return false;
  const handle = (socket as unknown as { _handle: UserBufferHandle | null })._handle;
  if (handle === null || typeof handle.useUserBuffer !== 'function') return false;
  const s = onreadSymbols(socket);
  if (s === null) return false;
  const state = socket as unknown as Record<symbol, unknown>;
  if (state[s.buffer] !== null || state[s.callback] !== null || state[s.generator] !== null) return false;
  const reads = slabReads(onData);
  const first = reads.buffer();
  state[s.buffer] = first;
  state[s.generator] = reads.buffer;
  state[s.callback] = reads.callback;
  handle.useUserBuffer(first);
  // Reads that arrived before the switch wait in the Readable buffer.
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) onData(chunk, chunk.length);
  return true;
}
