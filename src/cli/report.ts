import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { renderReport, validateRun, type ReportRun } from '../load/html-report.js';
import { CliUsageError } from './cli-error.js';

const USAGE = `usage: bulwark report [-o report.html] [--title TEXT] RUN.json...

Compares load runs (Fortio-compatible JSON from bulwark load -json, or from Fortio) side by side in one
self-contained HTML file: throughput bars, latency percentiles, histogram overlays; labels as legends.`;

/** \`bulwark report\`: one HTML page comparing runs. */
export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { o: { type: 'string', short: 'o' }, title: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliUsageError(`${(err as Error).message}\n${USAGE}`);
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (parsed.positionals.length === 0) throw new CliUsageError(`at least one RUN.json is required\n${USAGE}`);
  const runs: ReportRun[] = [];
  for (const file of parsed.positionals) {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      process.stderr.write(`bulwark report: ${file}: ${(err as Error).message}\n`);
      return 1;
    }
    try {
      const result = validateRun(file, data);
      runs.push({ name: result.Labels || basename(file, '.json'), result });
    } catch (err) {
      process.stderr.write(`bulwark report: ${(err as Error).message}\n`);
      return 1;
    }
  }
  const out = parsed.values.o ?? 'report.html';
  writeFileSync(out, renderReport(runs, parsed.values.title));
  process.stdout.write(`wrote ${out} (${runs.length} run${runs.length === 1 ? '' : 's'})\n`);
  return 0;
}
