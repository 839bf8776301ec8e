import { openSync, readFileSync, rmSync, statSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { disableCoreDumps } from '../keys/core-dumps.js';
import { KeyStore } from '../keys/key-store.js';
import type { KeyType } from '../keys/pkcs11-token.js';
import { resolveStateDir } from '../keys/state-dir.js';
import { CliUsageError } from './cli-error.js';

const USAGE = `usage: bulwark keys <command> [--state-dir DIR] [--module PATH]

  list                                   tokens and keys: labels, types, flags (never key material)
  generate --label L [--token T] [--type ec-p256|rsa-2048|rsa-3072]
                                         generate a non-extractable key pair inside token T (default: L)
  import --label L [--token T] [--keep] FILE.pem
                                         bring an existing key into token T (default: L); the PEM file is
                                         overwritten and removed unless --keep

A token is created (with fresh 0600 PIN files under DIR/pins) the first time a key is put into it.`;

const TYPES: readonly KeyType[] = ['ec-p256', 'rsa-2048', 'rsa-3072'];

/** Overwrites a file with random bytes, syncs, then unlinks it, so the plain key does not linger on disk. */
function shred(path: string): void {
  const size = statSync(path).size;
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, randomBytes(size), 0, size, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  rmSync(path);
}

/** `bulwark keys`: provisioning of keyd's tokens. */
export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return sub ? 0 : 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        'state-dir': { type: 'string' },
        module: { type: 'string' },
        label: { type: 'string' },
        token: { type: 'string' },
        type: { type: 'string' },
        keep: { type: 'boolean' },
        json: { type: 'boolean' },
      },
      strict: true,
    });
  } catch (err) {
    throw new CliUsageError(`${(err as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  // The token module runs in this process: a crash must not write its memory (PINs, key material) to disk.
  const coreDumps = disableCoreDumps();
  if (coreDumps) process.stderr.write(`bulwark keys: warning: ${coreDumps}\n`);
  const store = new KeyStore(resolveStateDir(values['state-dir']), values.module);
  try {
    switch (sub) {
      case 'list': {
        const keys = store.listKeys();
        if (values.json) {
          process.stdout.write(`${JSON.stringify(keys)}\n`);
          return 0;
        }
        process.stdout.write('TOKEN\tLABEL\tTYPE\tSENSITIVE\tEXTRACTABLE\tNEVER_EXTRACTABLE\tGENERATED_IN_TOKEN\n');
        for (const k of keys) process.stdout.write(`${k.token}\t${k.label}\t${k.type}\t${k.sensitive}\t${k.extractable}\t${k.neverExtractable}\t${k.local}\n`);
        return 0;
      }
      case 'generate': {
        if (!values.label) throw new CliUsageError(`generate needs --label\n${USAGE}`);
        const type = (values.type ?? 'ec-p256') as KeyType;
        if (!TYPES.includes(type)) throw new CliUsageError(`--type must be one of ${TYPES.join(', ')}`);
        const token = values.token ?? values.label;
        store.ensureToken(token);
        store.withToken(token, (s) => s.generateKeyPair(values.label!, type));
        process.stdout.write(`generated ${type} key "${values.label}" in token "${token}"\n`);
        return 0;
      }
      case 'import': {
        if (!values.label || positionals.length !== 1) throw new CliUsageError(`import needs --label and one PEM file\n${USAGE}`);
        const file = positionals[0]!;
        const token = values.token ?? values.label;
        const pem = readFileSync(file);
        store.ensureToken(token);
        const type = store.withToken(token, (s) => s.importPrivateKey(values.label!, pem));
        pem.fill(0);
        if (!values.keep) shred(file);
        process.stdout.write(`imported ${type} key "${values.label}" into token "${token}"${values.keep ? '' : `; ${file} overwritten and removed`}\n`);
        return 0;
      }
      default:
        throw new CliUsageError(`unknown keys command "${sub}"\n${USAGE}`);
    }
  } finally {
    store.close();
  }
}
