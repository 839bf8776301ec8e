/**
 * A small, strict reader of the Prometheus text format (0.0.4), for tests: it rejects what
 * Prometheus would reject (bad names, unescaped quotes, samples before their TYPE line, a
 * family split in two) and gives back samples with unescaped label values.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

export function parsePrometheusText(text: string): Map<string, ParsedFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('text must end with a line feed');
  const families = new Map<string, ParsedFamily>();
  let current: ParsedFamily | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      const rest = line.slice(7);
      const name = rest.slice(0, rest.indexOf(' '));
      if (families.has(name)) throw new Error(`family ${name} appears twice`);
      current = { name, type: 'untyped', help: unescapeHelp(rest.slice(name.length + 1)), samples: [] };
      families.set(name, current);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (current === undefined || current.name !== name) throw new Error(`TYPE ${name} without its HELP just before`);
      if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type!)) throw new Error(`bad type ${type}`);
      current.type = type!;
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = parseSample(line);
    if (current === undefined || !belongsTo(sample.name, current)) throw new Error(`sample ${sample.name} outside its family`);
    current.samples.push(sample);
  }
  return families;
}

function belongsTo(sampleName: string, family: ParsedFamily): boolean {
  if (family.type === 'histogram') return ['_bucket', '_sum', '_count'].some((s) => sampleName === family.name + s);
  return sampleName === family.name;
}

function parseSample(line: string): Sample {
  const nameMatch = NAME.exec(line);
  if (nameMatch === null) throw new Error(`bad sample line: ${line}`);
  const name = nameMatch[0];
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const labelMatch = LABEL.exec(line.slice(i));
      if (labelMatch === null) throw new Error(`bad label name in: ${line}`);
      const label = labelMatch[0];
      i += label.length;
      if (line[i] !== '=' || line[i + 1] !== '"') throw new Error(`expected =" after ${label} in: ${line}`);
      i += 2;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i + 1];
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else throw new Error(`bad escape \\${e} in: ${line}`);
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      i++;
      if (label in labels) throw new Error(`label ${label} twice in: ${line}`);
      labels[label] = value;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new Error(`expected , or } in: ${line}`);
    }
    i++;
  }
  if (line[i] !== ' ') throw new Error(`expected a space before the value in: ${line}`);
  const valueText = line.slice(i + 1);
  const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : valueText === 'NaN' ? NaN : Number(valueText);
  if (valueText === '' || (Number.isNaN(value) && valueText !== 'NaN')) throw new Error(`bad value in: ${line}`);
  return { name, labels, value };
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}
