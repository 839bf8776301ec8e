import { createRequire } from 'node:module';
import { ConfigError } from './config-error.js';
import { ConfigErrors } from './config-errors.js';
import { findTooDeep, MAX_DOCUMENT_DEPTH, type TooDeep } from './document-depth.js';
import { looksLikeJsonObject, parseJsonDocument } from './json-document.js';

/**
 * A bootstrap's text as plain values, or ConfigErrors saying where it cannot be: syntax, an alias bomb,
 * nesting past the depth bound or a value that contains itself. Nothing else leaves this step.
 */
export function parseBootstrapDocument(text: string, file: string): unknown {
  const document = parseDocumentText(text, file);
  const tooDeep = findTooDeep(document);
  if (tooDeep) throw new ConfigErrors([tooDeepError(document, tooDeep, file)]);
  return document;
}

/**
 * The document as plain values. Valid JSON (an object) is parsed without the YAML library, which is
 * only loaded for YAML or text that is not valid JSON: it costs ~9 MB of resident memory per process
 * (see json-document.ts). Both paths reject duplicate keys and say on which line a problem is.
 */
function parseDocumentText(text: string, file: string): unknown {
  const parsed = looksLikeJsonObject(text) ? parseJsonDocument(text) : undefined;
  if (parsed !== undefined && 'problem' in parsed) throw new ConfigErrors([new ConfigError(file, '(file)', `line ${parsed.problem.line}`, parsed.problem.message)]);
  if (parsed !== undefined && 'value' in parsed) return parsed.value;
  const { parseDocument, LineCounter } = loadYaml();
  const lines = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    const jsonError = parsed?.syntaxError;
    // Text meant as JSON: JSON's message, at the line YAML's parser found.
    if (jsonError !== undefined) throw new ConfigErrors([new ConfigError(file, '(file)', `line ${doc.errors[0]!.linePos?.[0].line ?? '?'}`, `not valid JSON: ${jsonError}`)]);
    // The first syntax error says where; the rest are usually echoes of it (an overflow repeats at every level).
    const shown = doc.errors.some((e) => isStackOverflow(e.message)) ? doc.errors.slice(0, 1) : doc.errors.slice(0, 3);
    throw new ConfigErrors(shown.map((e) => new ConfigError(file, '(file)', `line ${e.linePos?.[0].line ?? '?'}`, yamlErrorReason(e))));
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COPIES });
  } catch (err) {
    if (isStackOverflow((err as Error).message)) throw new ConfigErrors([new ConfigError(file, '(file)', 'line ?', NESTED_TOO_DEEP)]);
    // The library refuses an alias bomb (aliases of aliases, each level multiplying the copies) as it resolves it.
    const alias = firstAliasOffset(doc);
    const line = alias === undefined ? '?' : lines.linePos(alias).line;
    throw new ConfigErrors([new ConfigError(file, '(file)', `line ${line}`, `YAML aliases would expand to more than ${MAX_ALIAS_COPIES} copies of their anchors (${(err as Error).message})`)]);
  }
}

/** The YAML library's bound on alias expansion (its default, named here because the error message quotes it). */
const MAX_ALIAS_COPIES = 100;

const NESTED_TOO_DEEP = `nested too deeply to read (the limit is ${MAX_DOCUMENT_DEPTH} levels of objects and lists)`;

/** The parser's message, in the user's terms where it speaks of its own API or of its stack. */
function yamlErrorReason(e: import('yaml').YAMLError): string {
  if (isStackOverflow(e.message)) return NESTED_TOO_DEEP;
  // The library's own words advise calling YAML.parseAllDocuments().
  if (e.code === 'MULTIPLE_DOCS') return 'a second YAML document starts here: a bootstrap is one document (remove the "---" and what follows, or merge them)';
  return e.message.split('\n')[0]!;
}

function isStackOverflow(message: string): boolean {
  return message.startsWith('Maximum call stack size exceeded');
}

function firstAliasOffset(doc: import('yaml').Document): number | undefined {
  let offset: number | undefined;
  loadYaml().visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0];
      return loadYaml().visit.BREAK;
    },
  });
  return offset;
}

/** A document nested past the limit, reported against the static resource it is in (when it is in one) and its field. */
function tooDeepError(document: unknown, { path, containsItself }: TooDeep, file: string): ConfigError {
  const reason = containsItself ? 'contains itself (a YAML alias inside its own anchor)' : NESTED_TOO_DEEP;
  const text = (p: Array<string | number>) => p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
  const [statics, kind, index, ...rest] = path;
  const kinds: Record<string, string> = { listeners: 'listener', clusters: 'cluster', secrets: 'secret', routeConfigurations: 'routeConfiguration', route_configurations: 'routeConfiguration' };
  if ((statics === 'staticResources' || statics === 'static_resources') && typeof kind === 'string' && kinds[kind] && typeof index === 'number' && rest.length > 0) {
    const item = ((document as Record<string, Record<string, unknown[]>>)[statics]![kind]![index] ?? {}) as { name?: unknown };
    const name = typeof item.name === 'string' && item.name !== '' ? item.name : `#${index}`;
    return new ConfigError(file, `${kinds[kind]} "${name}"`, text(rest), reason);
  }
  return new ConfigError(file, 'bootstrap', text(path), reason);
}

let yamlModule: typeof import('yaml') | undefined;

/** The YAML library, loaded on first use (synchronously: configuration loading is synchronous). */
function loadYaml(): typeof import('yaml') {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlModule;
}
