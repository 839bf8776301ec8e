/**
 * Errors a user can cause and fix (bad input, a missing or unreadable file, a config the proxy
 * refuses): the CLI prints their message alone. Anything else is a bug and keeps its stack trace.
 * Matched by name so that this check loads none of the modules that define them.
 */
const EXPECTED_ERROR_NAMES = new Set(['CaError', 'SpiffeIdError', 'ConfigError', 'ConfigErrors', 'TokenError', 'TlsMaterialError', 'StateDirError']);

/** System errors about the files and addresses a user named (with `syscall`, so they come from Node). */
const EXPECTED_SYSTEM_CODES = new Set(['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'EEXIST', 'EADDRINUSE', 'EADDRNOTAVAIL']);

export function isExpectedError(err: unknown): err is Error {
  if (!(err instanceof Error)) return false;
  if (EXPECTED_ERROR_NAMES.has(err.name)) return true;
  const sys = err as NodeJS.ErrnoException;
  return typeof sys.syscall === 'string' && sys.code !== undefined && EXPECTED_SYSTEM_CODES.has(sys.code);
}
