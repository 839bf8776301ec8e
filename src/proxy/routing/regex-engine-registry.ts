import type { RegexEngine } from './regex-engine.js';
import { re2RegexEngine } from './regex-engine-re2.js';

/** Regex engines by the name a bootstrap's `defaultRegexEngine` uses; one line per engine. */
const engines = new Map<string, RegexEngine>([[re2RegexEngine.name, re2RegexEngine]]);

/** Adds an engine (e.g. hyperscan) under its name. */
export function registerRegexEngine(engine: RegexEngine): void {
  engines.set(engine.name, engine);
}

/** The names a bootstrap may give as its `defaultRegexEngine`. */
export function regexEngineNames(): string[] {
  return [...engines.keys()];
}

/** The engine registered under `name`; throws with the known names otherwise. */
export function createRegexEngine(name: string): RegexEngine {
  const engine = engines.get(name);
  if (!engine) throw new Error(`unknown regex engine "${name}" (known: ${[...engines.keys()].join(', ')})`);
  return engine;
}
