/**
 * The RE2 constructor, loaded on first use. re2 is a native addon (~3 MB resident once loaded):
 * a worker whose routes have no regex should not pay for it in its idle footprint.
 */
import { createRequire } from 'node:module';
import type RE2 from 're2';

let loaded: typeof RE2 | undefined;

export function re2(): typeof RE2 {
  return (loaded ??= createRequire(import.meta.url)('re2') as typeof RE2);
}
