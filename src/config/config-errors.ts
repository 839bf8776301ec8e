import { ConfigError } from './config-error.js';

/** Every problem found in one file, so a user fixes them in one pass. */
export class ConfigErrors extends Error {
  override name = 'ConfigErrors';
  constructor(readonly errors: ConfigError[]) {
    super(errors.map((e) => e.message).join('\n'));
  }
}
