import assert from 'node:assert/strict';
import { parseBootstrap } from '../../src/config/bootstrap-loader.js';
import { ConfigErrors } from '../../src/config/config-errors.js';

/** The messages a bootstrap is refused with (file, resource, field); fails the test when it loads. */
export function refusalsOf(text: string, file: string): string[] {
  try {
    parseBootstrap(text, file);
  } catch (err) {
    assert.ok(err instanceof ConfigErrors, `not a ConfigErrors: ${String(err)}`);
    return err.errors.map((e) => e.message);
  }
  assert.fail('the config was accepted');
}
