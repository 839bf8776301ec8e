import { createPrivateKey } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';

/** Where a needle was found: a file, a process's environment/argv, or a process's memory. */
export type Finding = string;

function contains(hay: Buffer, needles: readonly Buffer[]): boolean {
  return needles.some((n) => hay.indexOf(n) >= 0);
}

/** Every regular file under dir that contains one of the needles. */
export function scanFiles(dir: string, needles: readonly Buffer[]): Finding[] {
  const out: Finding[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...scanFiles(p, needles));
    else if (e.isFile() && contains(readFileSync(p), needles)) out.push(`file ${p}`);
  }
  return out;
}

/** Every process whose environment or command line contains one of the needles. */
export function scanEnvironAndCmdline(needles: readonly Buffer[]): Finding[] {
  const out: Finding[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    for (const what of ['environ', 'cmdline']) {
      try {
        if (contains(readFileSync(`/proc/${pid}/${what}`), needles)) out.push(`pid ${pid} ${what}`);
      } catch {
        // The process exited while we looked, or is not ours to read.
      }
    }
  }
  return out;
}

/** pid and all its descendants. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // Gone.
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/** Reads every readable mapping of a process through /proc/PID/mem and reports whether a needle is in it. */
export function scanProcessMemory(pid: number, needles: readonly Buffer[]): Finding[] {
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8').trim().split('\n');
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  const overlap = Math.max(...needles.map((n) => n.length));
  const chunk = Buffer.alloc(1 << 20);
  const found: Finding[] = [];
  try {
    for (const line of maps) {
      const [range, perms, , , , path = ''] = line.split(/\s+/);
      if (!perms!.startsWith('r') || path === '[vvar]' || path === '[vsyscall]') continue;
      const [start, end] = range!.split('-').map((h) => BigInt(`0x${h}`)) as [bigint, bigint];
      let carry = Buffer.alloc(0);
      for (let at = start; at < end; at += BigInt(chunk.length)) {
        const len = Number(end - at < BigInt(chunk.length) ? end - at : BigInt(chunk.length));
        let n: number;
        try {
          n = readSync(fd, chunk, 0, len, at);
        } catch {
          break;
        }
        const window = Buffer.concat([carry, chunk.subarray(0, n)]);
        if (contains(window, needles)) {
          found.push(`pid ${pid} memory ${range} ${path}`);
          break;
        }
        carry = Buffer.from(window.subarray(Math.max(0, window.length - overlap)));
      }
    }
  } finally {
    closeSync(fd);
  }
  return found;
}

/**
 * The byte patterns of an EC private key: the scalar (big-endian, and little-endian as BIGNUM limbs hold
 * it), its PEM body, its PKCS#8 and SEC1 DER and their base64 (PEM text without line breaks).
 */
export function keyNeedles(d: Buffer, pem: string): Buffer[] {
  const body = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  const key = createPrivateKey(pem);
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' });
  const sec1 = key.export({ format: 'der', type: 'sec1' });
  // The first base64 line is the same for every P-256 PKCS#8 key; the second carries key bits. In the
  // base64 of each DER, the 40 characters from the first 3-byte boundary inside the scalar (byte 36 of
  // PKCS#8, byte 9 of SEC1) are scalar bits only.
  const base64 = [pkcs8.toString('base64').slice(48, 88), sec1.toString('base64').slice(12, 52)];
  return [d, Buffer.from(d).reverse(), ...body.slice(1, 2).map((l) => Buffer.from(l)), pkcs8, sec1, ...base64.map((b) => Buffer.from(b))];
}
