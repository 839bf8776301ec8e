import { execFileSync } from 'node:child_process';

/**
 * Sets this process's core file size limit to 0, soft and hard, so a crash leaves no memory image on
 * disk: keyd's p11-kit children hold the tokens' decrypted keys while they sign, a proxy holds the PIN
 * its engine logged in with (and, with --insecure-memory-keys, the key itself), the CA commands run the
 * token module in-process. Children inherit the limit and cannot raise it again. Node has no setrlimit,
 * so util-linux's prlimit sets it on this pid. Returns why it could not, for the caller to log.
 */
export function disableCoreDumps(): string | undefined {
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), '--core=0:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    return undefined;
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return `core dumps stay enabled: prlimit failed (${stderr || (err as Error).message})`;
  }
}
