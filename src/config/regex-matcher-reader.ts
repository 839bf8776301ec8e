import type { FieldReader } from './field-reader.js';
import { regexSyntaxError } from './regex-syntax.js';
import { wireRegex, WireRegexError } from '../proxy/routing/wire-regex.js';

/**
 * Reads Envoy's RegexMatcher (`safeRegex`), refusing a pattern RE2 would not compile, and, when it
 * is matched against wire bytes (header and query values), one that has no form for them (wire-regex.ts).
 */
export function readRegexMatcher(re: FieldReader, matchesWireBytes = false): { regex: string } {
  re.ignore('googleRe2');
  const regex = re.str('regex');
  const why = regexSyntaxError(regex);
  if (why) re.fail('regex', `invalid regular expression: ${why}`);
  if (matchesWireBytes) {
    try {
      wireRegex(regex);
    } catch (err) {
      if (err instanceof WireRegexError) re.fail('regex', err.message);
      throw err;
    }
  }
  re.done();
  return { regex };
}
