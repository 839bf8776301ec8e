/** The registry of CLI commands: one line per command, each loaded only when run. */
export interface CommandModule {
  /** Runs the command with its own arguments; resolves to the process exit code. */
  run(args: string[]): Promise<number>;
}

export const commands: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  proxy: { summary: 'run a proxy (sidecar or gateway) from a static config file', load: () => import('./proxy.js') },
  keyd: { summary: 'run the key-custody daemon (p11-kit server over SoftHSM2 or an HSM)', load: () => import('./keyd.js') },
  keys: { summary: 'provision keyd tokens: list, generate and import keys', load: () => import('./keys.js') },
  ca: { summary: 'the mesh CA: root key in a token, SPIFFE SVIDs signed through PKCS#11', load: () => import('./ca.js') },
  load: { summary: 'drive load at a URL (Fortio-compatible results: text, JSON, CSV)', load: () => import('./load.js') },
  curl: { summary: 'one call, its response printed (Fortio\'s curl: bulwark load -curl)', load: () => import('./curl.js') },
  echo: { summary: 'run the echo workload (HTTP/1.1, h2c, HTTP/2 over TLS, gRPC ping)', load: () => import('./echo.js') },
  report: { summary: 'compare load runs (JSON files) in one self-contained HTML page', load: () => import('./report.js') },
  demo: { summary: 'run the demo: a proxy in front of two services, a burst of traffic, a summary', load: () => import('./demo.js') },
};
