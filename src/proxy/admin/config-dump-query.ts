/**
 * /config_dump's answer to its query, as Envoy's ConfigDumpHandler gives it: ?resource= (the entries
 * of one repeated field, each packed with its own type), ?mask= (a field mask on each message, or on
 * each entry with ?resource=), ?name_regex= (an RE2 a resource's whole name must match), ?include_eds
 * (an EndpointsConfigDump of every cluster's endpoints). Errors carry Envoy's texts and codes.
 */
import { re2 } from '../routing/re2-module.js';
import { configDumpMessages, packed, type DumpMessage, type NameMatcher, type RunningConfig } from './config-dump.js';
import { maskDebugString, maskPaths, pathFitsJson, trimToMask } from './field-mask.js';

type Json = Record<string, unknown>;

export interface ConfigDumpAnswer {
  status: number;
  /** JSON when the status is 200, otherwise text. */
  body: string;
}

/** The entries' fields that hold the resource (a google.protobuf.Any); a mask may reach inside only these. */
const ANY_FIELDS = new Set(['cluster', 'listener', 'route_config', 'secret', 'endpoint_config']);

/** Answers a /config_dump request. */
export function answerConfigDump(config: RunningConfig, query: URLSearchParams): ConfigDumpAnswer {
  const pattern = query.get('name_regex') ?? '';
  let matches: NameMatcher = () => true;
  if (pattern !== '') {
    try {
      new (re2())(pattern);
    } catch (err) {
      return { status: 400, body: `INVALID_ARGUMENT: Error while parsing name_regex from ${pattern}: ${(err as Error).message}` };
    }
    // Envoy's regex matchers match the whole name; the pattern compiled alone, so the group holds all of it.
    const whole = new (re2())(`^(?:${pattern})$`);
    matches = (name) => whole.test(name);
  }
  const messages = configDumpMessages(config, matches, query.has('include_eds'));
  const mask = query.get('mask');
  const resource = query.get('resource');
  return resource !== null && resource !== '' ? resourceEntries(messages, resource, mask) : wholeMessages(messages, mask);
}

function wholeMessages(messages: DumpMessage[], mask: string | null): ConfigDumpAnswer {
  const configs: Json[] = [];
  const paths = mask === null ? [] : maskPaths(mask).map((p) => p.split('.'));
  for (const m of messages) {
    if (paths.length === 0) {
      configs.push(packed(m.type, m.body));
      continue;
    }
    // As Envoy: a message the mask does not fit is left out, not an error.
    if (!paths.every((p) => fitsMessage(m, p))) continue;
    configs.push(packed(m.type, trimToMask(m.body, paths)));
  }
  if (configs.length === 0 && mask !== null) return { status: 400, body: `FieldMask ${mask} could not be successfully applied to any configs.` };
  return ok(configs);
}

/** A path fits a tracker's message when its first name is a field of it and it goes on only into the bootstrap (a message, not a list). */
function fitsMessage(m: DumpMessage, path: string[]): boolean {
  if (!m.fields.has(path[0]!)) return false;
  if (path.length === 1) return true;
  return path[0] === 'bootstrap' && pathFitsJson(m.body.bootstrap, path.slice(1));
}

function resourceEntries(messages: DumpMessage[], resource: string, mask: string | null): ConfigDumpAnswer {
  for (const m of messages) {
    const field = m.fields.get(resource);
    if (field === undefined) continue;
    if (field.repeatedOf === undefined) return { status: 400, body: `${resource} is not a repeated field. Use ?mask=${resource} to get only this field` };
    const entries = (m.body[resource] as Json[] | undefined) ?? [];
    const configs: Json[] = [];
    const paths = mask === null ? [] : maskPaths(mask);
    for (const entry of entries) {
      let kept = entry;
      if (mask !== null) {
        const trimmed = trimEntry(entry, field.entryFields ?? new Set(), paths);
        if (trimmed === undefined) return { status: 400, body: `FieldMask ${maskDebugString(paths)} could not be successfully used.` };
        kept = trimmed;
      }
      configs.push(packed(`envoy.admin.v3.${field.repeatedOf}`, kept));
    }
    return ok(configs);
  }
  return { status: 404, body: `${resource} not found in config dump` };
}

/** One entry trimmed as Envoy trims it: paths into its resource (an Any) trim the resource, the others the entry. */
function trimEntry(entry: Json, entryFields: ReadonlySet<string>, paths: string[]): Json | undefined {
  const split = paths.map((p) => p.split('.'));
  for (const p of split) {
    const first = p[0]!;
    if (!entryFields.has(first)) return undefined;
    if (p.length > 1 && (!ANY_FIELDS.has(first) || !pathFitsJson(entry[first], p.slice(1)))) return undefined;
  }
  return trimToMask(entry, split);
}

/** Envoy's pretty printing: one-space indent, a final newline; an empty list of configs prints as {}. */
function ok(configs: Json[]): ConfigDumpAnswer {
  return { status: 200, body: `${JSON.stringify(configs.length > 0 ? { configs } : {}, null, 1)}\n` };
}
