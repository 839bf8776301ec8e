import type RE2 from 're2';
import { re2 } from './re2-module.js';
import { RegexCompileError, type RegexEngine, type RegexSet } from './regex-engine.js';

/** RE2 matches one pattern at a time, in linear time, as Envoy's default engine does. */
class Re2RegexSet implements RegexSet {
  readonly prefersScan = false;
  readonly size: number;

  constructor(private readonly regexes: readonly RE2[]) {
    this.size = regexes.length;
  }

  test(id: number, input: string): boolean {
    return this.regexes[id]!.test(input);
  }

  scan(input: string, out: Uint8Array): number {
    let matched = 0;
    for (let i = 0; i < this.regexes.length; i++) {
      const hit = this.regexes[i]!.test(input) ? 1 : 0;
      out[i] = hit;
      matched += hit;
    }
    return matched;
  }
}

export const re2RegexEngine: RegexEngine = {
  name: 're2',
  compile(patterns) {
    const regexes = patterns.map((p) => {
      try {
        // Anchored on both ends: route regexes must match the whole input.
        return new (re2())(`^(?:${p})$`, 'u');
      } catch (err) {
        throw new RegexCompileError(p, 're2', (err as Error).message);
      }
    });
    return new Re2RegexSet(regexes);
  },
};
