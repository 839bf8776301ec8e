/**
 * The regex engine behind route matching. An engine compiles a *set* of patterns once per config;
 * a per-pattern engine (RE2) answers `test`, a multi-pattern engine (Hyperscan) answers `scan`
 * in one pass over the input. Matching is always a full match, as Envoy's safe_regex is.
 */
export interface RegexEngine {
  readonly name: string;
  /** Compiles the patterns; a pattern's id is its index. Throws RegexCompileError on a bad pattern. */
  compile(patterns: readonly string[]): RegexSet;
}

export interface RegexSet {
  readonly size: number;
  /** True when one `scan` over the input is cheaper than testing candidates one by one. */
  readonly prefersScan: boolean;
  /** Does pattern `id` match the whole input? */
  test(id: number, input: string): boolean;
  /** Marks out[id] = 1 for every pattern that matches (0 otherwise); returns how many matched. */
  scan(input: string, out: Uint8Array): number;
}

/** A pattern the engine cannot compile; says which one and why. */
export class RegexCompileError extends Error {
  constructor(
    readonly pattern: string,
    readonly engine: string,
    reason: string,
  ) {
    super(`regex engine ${engine} cannot compile ${JSON.stringify(pattern)}: ${reason}`);
    this.name = 'RegexCompileError';
  }
}
