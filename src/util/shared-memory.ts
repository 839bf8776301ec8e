import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The native addon (native/shared-memory): memory files mapped into several processes. */
interface SharedMemoryAddon {
  create(bytes: number): { fd: number; buffer: ArrayBuffer };
  open(path: string, bytes: number): ArrayBuffer;
}

/** Memory this process created for its children, and the path they open it by. */
export interface SharedRegion {
  buffer: ArrayBuffer;
  /** /proc/<this pid>/fd/<fd>: a child of the same user maps the same pages through it. */
  path: string;
}

let addon: SharedMemoryAddon | null | undefined;

/** The addon, or null when it was not built (scripts/build-native.sh reports why). */
function load(): SharedMemoryAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  // From the source tree (tsx) or from dist/ (one directory deeper).
  for (const up of ['../../', '../../../']) {
    const file = new URL(`${up}native/shared-memory/build/Release/shared_memory.node`, import.meta.url);
    if (existsSync(file)) {
      addon = createRequire(import.meta.url)(file.pathname) as SharedMemoryAddon;
      break;
    }
  }
  return addon;
}

/** Whether memory can be shared between the proxy's processes here. */
export function sharedMemoryAvailable(): boolean {
  return load() !== null;
}

/** A zero-filled region of `bytes` that child processes can map; undefined without the addon. */
export function createSharedRegion(bytes: number): SharedRegion | undefined {
  const a = load();
  if (a === null) return undefined;
  const { fd, buffer } = a.create(bytes);
  return { buffer, path: `/proc/${process.pid}/fd/${fd}` };
}

/** Maps a region the parent created (its `path`); throws when it cannot, undefined without the addon. */
export function openSharedRegion(path: string, bytes: number): ArrayBuffer | undefined {
  const a = load();
  return a === null ? undefined : a.open(path, bytes);
}
