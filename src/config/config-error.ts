/** An invalid resource: says which file, which resource and which field, and why. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly resource: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${file}: ${resource}: ${field}: ${reason}`);
  }
}
