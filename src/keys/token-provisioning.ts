import { execFileSync } from 'node:child_process';
import type { KeyStore } from './key-store.js';

/**
 * Creates a token and its key pair from a short-lived `bulwark keys generate` child, unless the token
 * exists. Creating a token takes its SO PIN, which a JavaScript string keeps in the heap until the
 * process ends (it cannot be wiped): a long-running process that provisions in-process, such as the
 * CA agent, would hold an administration credential it never needs again. Call it before `store`
 * first loads the token module, which lists slots once, at load.
 */
export function provisionInChild(store: KeyStore, token: string, label: string): void {
  if (store.pins.has(token)) return;
  const cli = [...process.execArgv, process.argv[1]!];
  const args = ['keys', 'generate', '--label', label, '--token', token, '--type', 'ec-p256', '--state-dir', store.layout.root, '--module', store.modulePath];
  execFileSync(process.execPath, [...cli, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}
