import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// One fresh directory per test process. A path named by the pid alone outlives its run, and a later
// file given the same pid (CI containers recycle them quickly) read the old run's lines as its own.
let dir: string | undefined;

/** A path in this test process's own scratch directory, removed when the process exits. */
export function scratchPath(name: string): string {
  if (dir === undefined) {
    const made = mkdtempSync(join(tmpdir(), 'bulwark-scratch-'));
    dir = made;
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  return join(dir, name);
}
