import { readFileSync } from 'node:fs';

/**
 * Bulwark's version, from its package.json: read once, from the source tree (tsx) or from dist/
 * (the module sits one directory deeper there).
 */
function readVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'bulwark' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

export const BULWARK_VERSION = readVersion();
