import type { Readable, Writable } from 'node:stream';
import { FortioResolver } from './fortio-dns.js';
import { fastFetch } from './fortio-fast-fetch.js';
import { stdFetch } from './fortio-std-fetch.js';
import { LoadAbortedError } from './load-aborted-error.js';
import type { LoadOptions } from './load-options.js';
import { checkResolves, resolveTarget } from './load-target.js';

export interface CurlStreams {
  stdout: Writable;
  stderr: Writable;
  /** -stream: the request body, read as it comes. */
  stdin: Readable;
}

/**
 * Fortio's curl mode (`fortio curl URL`, `fortio load -curl URL`; bincommon FetchURL): one call,
 * its response printed, exit 0 for a 200 and 1 for anything else. The fast client prints the raw
 * response as it buffered it (-httpbufferkb), the head on stderr (stdout with -curl-stdout-headers)
 * and the rest on stdout, chunked framing included; the standard client (-stdclient, -h2, -L,
 * -stream) prints the body alone.
 */
export async function fortioCurl(o: LoadOptions, io: CurlStreams): Promise<number> {
  const target = resolveTarget(o, new FortioResolver(o.dns));
  try {
    if (target.socketPath === undefined) await checkResolves(target.host, target.resolver);
  } catch (err) {
    if (!(err instanceof LoadAbortedError)) throw err;
    io.stderr.write(`Unable to lookup: ${err.message}\n`);
    return 1;
  }
  let code: number;
  if (o.fastClient && !o.streamPayload) {
    const r = await fastFetch(o, target);
    for (const w of r.warnings) io.stderr.write(`[W] ${w}\n`);
    if (o.curlHeadersToStdout) io.stdout.write(r.data);
    else {
      io.stderr.write(r.data.subarray(0, r.headerLen));
      io.stdout.write(r.data.subarray(r.headerLen));
    }
    code = r.code;
  } else {
    const r = await stdFetch(o, io.stdout, o.streamPayload ? io.stdin : undefined);
    if (r.error !== undefined) io.stderr.write(`Unable to send request: ${r.error}\n`);
    code = r.code;
  }
  if (code === 200) return 0;
  io.stderr.write(`Error status ${code}\n`);
  return 1;
}
