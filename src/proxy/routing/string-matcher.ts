import type { StringMatcher } from '../../model/tls.js';
import type { RegexEngine, RegexSet } from './regex-engine.js';
import { wireRegex } from './wire-regex.js';
import { asciiLower, wireText } from './wire-text.js';

const enum Kind {
  Exact,
  Prefix,
  Suffix,
  Contains,
  Regex,
}

/**
 * Envoy's StringMatcher compiled once against wire bytes: the operand is held as its UTF-8 bytes
 * (see wire-text.ts), pre-lowered when ignoreCase is set.
 */
export class CompiledStringMatcher {
  private readonly kind: Kind;
  private readonly operand: string;
  private readonly ignoreCase: boolean;
  private readonly regex: RegexSet | undefined;

  constructor(m: StringMatcher, engine: RegexEngine) {
    // ignore_case does not apply to regexes (Envoy ignores it there too).
    this.ignoreCase = m.ignoreCase === true && m.safeRegex === undefined;
    const fold = (s: string): string => (this.ignoreCase ? asciiLower(wireText(s)) : wireText(s));
    if (m.exact !== undefined) [this.kind, this.operand] = [Kind.Exact, fold(m.exact)];
    else if (m.prefix !== undefined) [this.kind, this.operand] = [Kind.Prefix, fold(m.prefix)];
    else if (m.suffix !== undefined) [this.kind, this.operand] = [Kind.Suffix, fold(m.suffix)];
    else if (m.contains !== undefined) [this.kind, this.operand] = [Kind.Contains, fold(m.contains)];
    else if (m.safeRegex !== undefined) [this.kind, this.operand] = [Kind.Regex, wireRegex(m.safeRegex.regex)];
    else [this.kind, this.operand] = [Kind.Exact, ''];
    this.regex = this.kind === Kind.Regex ? engine.compile([this.operand]) : undefined;
  }

  matches(value: string): boolean {
    const v = this.ignoreCase ? asciiLower(value) : value;
    switch (this.kind) {
      case Kind.Exact:
        return v === this.operand;
      case Kind.Prefix:
        return v.startsWith(this.operand);
      case Kind.Suffix:
        return v.endsWith(this.operand);
      case Kind.Contains:
        return v.includes(this.operand);
      case Kind.Regex:
        return this.regex!.test(0, v);
    }
  }
}
