import { writeFileSync } from 'node:fs';
import { appendCsv } from '../load/csv-report.js';
import { fortioResult } from '../load/fortio-json.js';
import { LoadUsageError, parseLoadArgs } from '../load/load-options.js';
import { runLoad } from '../load/load-runner.js';
import { isLoadWorker, runAsWorker, runInWorkers } from '../load/load-workers.js';
import { progressReporter } from '../load/progress-bar.js';
import { textSummary } from '../load/text-summary.js';
import { CliUsageError } from './cli-error.js';

const USAGE = `usage: bulwark load [flags] URL

  -qps N            target calls per second over all connections (0 or negative = as fast as possible; default 8)
  -c N              connections (default 4)
  -n N | -t DUR     total calls, or run duration (default 5s; 0 = until interrupted)
  -H "name: value"  request header (repeatable)
  -payload-size N   send a POST body of N bytes
  -X METHOD         request method
  -labels TEXT      labels recorded in the results
  -p LIST           percentiles (default 50,75,90,99,99.9)
  -json FILE|-      Fortio-compatible JSON results (- = stdout; the text summary then goes to stderr)
  -csv FILE         append one CSV row per run
  -h2               HTTP/2 (h2c prior knowledge for http://, ALPN h2 for https://)
  -k                skip server certificate verification
  -cacert FILE      trust bundle;  -cert FILE -key FILE  client certificate (mTLS);  -sni NAME
  -new-conn         a new connection (a full TLS handshake) for every call
  -resume           resume TLS sessions when reconnecting
  -timeout DUR      per-call timeout (default 15s)
  -workers N        spread the load over N processes
  -quiet            no progress output

With -qps, calls follow a fixed timeline and latency counts from each call's scheduled time when the
connection was still busy (coordinated omission corrected); the summary says when the rate was not reached.`;

/** \`bulwark load\`: a Fortio-compatible load generator. */
export async function run(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help') || args.includes('-help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let o;
  try {
    o = parseLoadArgs(args);
  } catch (err) {
    if (err instanceof LoadUsageError) throw new CliUsageError(`${err.message}\n${USAGE}`);
    throw err;
  }
  if (isLoadWorker()) {
    await runAsWorker(o);
    return 0;
  }
  const jsonToStdout = o.jsonFile === '-';
  const out = jsonToStdout ? process.stderr : process.stdout;
  const progress = o.quiet ? undefined : progressReporter(process.stderr);
  out.write(`bulwark load: ${o.qps === 0 ? 'max' : o.qps} qps, ${o.connections} connections${o.workers > 1 ? ` over ${o.workers} workers` : ''}, ${o.calls > 0 ? `${o.calls} calls` : o.durationMs > 0 ? `${o.durationMs / 1000}s` : 'until interrupted'}, ${o.http2 ? 'HTTP/2' : 'HTTP/1.1'} ${o.url}\n`);
  const result = o.workers > 1 ? await runInWorkers(o, args) : await runLoad(o, progress);
  const fortio = fortioResult(o, result.recorder, result.startTime, result.actualDurationMs);
  out.write(textSummary(fortio));
  const json = `${JSON.stringify(fortio, null, 2)}\n`;
  if (jsonToStdout) process.stdout.write(json);
  else if (o.jsonFile) writeFileSync(o.jsonFile, json);
  if (o.csvFile) appendCsv(o.csvFile, fortio, (p) => result.recorder.histogram.getValueAtPercentile(p) / 1e6);
  return result.recorder.count > 0 && result.recorder.errors < result.recorder.count ? 0 : 1;
}
