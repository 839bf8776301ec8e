import { ConfigError } from './config-error.js';

/** Problems a message lists; the rest are counted (20,000 broken clusters made a 1.5 MB log line). */
const MAX_LISTED = 50;

/** Every problem found in one file, so a user fixes them in one pass. */
export class ConfigErrors extends Error {
  override name = 'ConfigErrors';
  constructor(readonly errors: ConfigError[]) {
    const listed = errors.slice(0, MAX_LISTED).map((e) => e.message);
    if (errors.length > MAX_LISTED) listed.push(`${errors[0]!.file}: and ${errors.length - MAX_LISTED} more problems`);
    super(listed.join('\n'));
  }
}
