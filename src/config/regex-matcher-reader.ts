import type { FieldReader } from './field-reader.js';
import { regexSyntaxError } from './regex-syntax.js';

/** Reads Envoy's RegexMatcher (`safeRegex`), refusing a pattern RE2 would not compile. */
export function readRegexMatcher(re: FieldReader): { regex: string } {
  re.ignore('googleRe2');
  const regex = re.str('regex');
  const why = regexSyntaxError(regex);
  if (why) re.fail('regex', `invalid regular expression: ${why}`);
  re.done();
  return { regex };
}
