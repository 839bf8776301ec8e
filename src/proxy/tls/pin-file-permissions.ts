import { statSync } from 'node:fs';
import { TlsMaterialError } from './tls-material.js';

/** Permission bits that let the file's group or others read, write or run it. */
const GROUP_OR_OTHER_BITS = 0o077;

/**
 * Refuses a PIN file that is missing or that group or others may open, as ssh refuses a private key
 * such people can read: the PIN grants use of every key in its token. The error names the file and its
 * mode, never its content.
 */
export function checkPinFile(pinFile: string, token: string, where: string): void {
  const st = statSync(pinFile, { throwIfNoEntry: false });
  if (!st) throw new TlsMaterialError(`${where}: PIN file ${pinFile} for token "${token}" does not exist`);
  const mode = st.mode & 0o777;
  if (mode & GROUP_OR_OTHER_BITS) {
    const octal = mode.toString(8).padStart(4, '0');
    throw new TlsMaterialError(`${where}: PIN file ${pinFile} for token "${token}" has mode ${octal}, open to group or others; it must be 0600 or stricter (chmod 600 ${pinFile})`);
  }
}
