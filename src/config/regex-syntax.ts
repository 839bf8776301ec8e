import { re2 } from '../proxy/routing/re2-module.js';

/** Returns why `pattern` is not valid RE2 syntax (Envoy's safe_regex dialect), or undefined when it is. */
export function regexSyntaxError(pattern: string): string | undefined {
  try {
    new (re2())(pattern, 'u');
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
