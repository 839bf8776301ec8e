/** The registry of CLI commands: one line per command, each loaded only when run. */
export interface CommandModule {
  /** Runs the command with its own arguments; resolves to the process exit code. */
  run(args: string[]): Promise<number>;
}

export const commands: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  proxy: { summary: 'run a proxy (sidecar or gateway) from a static config file', load: () => import('./proxy.js') },
  keyd: { summary: 'run the key-custody daemon (p11-kit server over SoftHSM2 or an HSM)', load: () => import('./keyd.js') },
  keys: { summary: 'provision keyd tokens: list, generate and import keys', load: () => import('./keys.js') },
  demo: { summary: 'run the demo: a proxy in front of two services, a burst of traffic, a summary', load: () => import('./demo.js') },
};
