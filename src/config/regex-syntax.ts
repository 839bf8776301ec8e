import RE2 from 're2';

/** Returns why `pattern` is not valid RE2 syntax (Envoy's safe_regex dialect), or undefined when it is. */
export function regexSyntaxError(pattern: string): string | undefined {
  try {
    new RE2(pattern, 'u');
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
