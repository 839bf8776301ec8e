import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const REPO_ROOT = new URL('../..', import.meta.url).pathname;

/** Whether every source file under src/ has a compiled file in dist/ at least as new as itself. */
function buildIsCurrent(): boolean {
  const pending = [join(REPO_ROOT, 'src')];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (entry.name.endsWith('.ts')) {
        const compiled = join(REPO_ROOT, 'dist', relative(REPO_ROOT, path).replace(/\.ts$/, '.js'));
        try {
          if (statSync(compiled).mtimeMs < statSync(path).mtimeMs) return false;
        } catch {
          return false;
        }
      }
    }
  }
  return true;
}

/**
 * The node arguments that run the bulwark CLI, to be followed by a command: the compiled CLI when the
 * build is current (`make test` builds first; it starts in a third of the time), else the source
 * through tsx, so a test run after an edit never runs a stale build. Paths are relative to the
 * repository root, the cwd tests give the child.
 */
export const CLI: readonly string[] = buildIsCurrent() ? ['dist/src/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];
