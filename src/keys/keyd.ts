import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { custodyEnv, writeEngineConfig } from './engine-config.js';
import { configureSoftHsm, defaultTokenModule } from './key-store.js';
import { P11KitServer, type KeydLog } from './p11kit-server.js';
import { ensureStateDirs, stateLayout, type StateLayout } from './state-dir.js';

export interface KeydOptions {
  stateDir: string;
  /** PKCS#11 module path; SoftHSM2 by default. */
  module?: string;
  log: KeydLog;
}

/**
 * The key-custody daemon: owns the tokens of a state directory and serves them to the mesh's processes
 * through a supervised `p11-kit server` on a Unix socket (0600, in a 0700 directory).
 */
export class Keyd {
  readonly layout: StateLayout;
  readonly module: string;
  private server: P11KitServer | undefined;

  constructor(private readonly opts: KeydOptions) {
    this.layout = stateLayout(opts.stateDir);
    this.module = opts.module ?? defaultTokenModule();
  }

  async start(): Promise<void> {
    ensureStateDirs(this.layout);
    const env: Record<string, string> = {};
    if (this.module.includes('softhsm')) {
      configureSoftHsm(this.layout);
      env.SOFTHSM2_CONF = this.layout.softhsmConf;
    }
    writeEngineConfig(this.layout.engineConf);
    const penv = custodyEnv(this.layout.engineConf, this.layout.socket);
    writeFileSync(join(this.layout.run, 'proxy.env'), Object.entries(penv).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
    this.server = new P11KitServer({ module: this.module, socket: this.layout.socket, runDir: this.layout.run, env, log: this.opts.log });
    await this.server.start();
  }

  get serverPid(): number | undefined {
    return this.server?.pid;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }
}
