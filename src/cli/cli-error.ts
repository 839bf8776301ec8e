/** A mistake in how a command was invoked; printed without a stack trace, exit code 2. */
export class CliUsageError extends Error {
  override name = 'CliUsageError';
}
