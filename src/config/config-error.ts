/** `text`, or its first `max` characters and how many were left out: a 1 MB name must not make every line about it 1 MB. */
function clipped(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** An invalid resource: says which file, which resource and which field, and why. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly resource: string,
    readonly field: string,
    readonly reason: string,
  ) {
    // A field path is clipped later than a name: 100 levels of nesting spelled out stay whole.
    super(`${file}: ${clipped(resource, 200)}: ${clipped(field, 2000)}: ${clipped(reason, 500)}`);
  }
}
