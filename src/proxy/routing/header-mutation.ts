import type { HeaderValueOption } from '../../model/route.js';
import { compileHeaderValue, type HeaderValueTemplate, type TemplateRecord } from '../../telemetry/access-log-template.js';
import { wireText } from './wire-text.js';

/** One level's header edits (route, virtual host or route configuration), names pre-lowered. */
export interface HeaderMutationLevel {
  add: readonly HeaderValueOption[];
  remove: readonly string[];
}

/** What a header value's command operators read: the request's record so far, and its headers. */
export interface HeaderValueSource {
  templateRecord(): TemplateRecord;
  readonly requestHeaders: readonly string[];
}

const enum Action {
  Append,
  AddIfAbsent,
  Overwrite,
}

interface HeaderAdd {
  name: string;
  /** The value as wire bytes (its UTF-8), or its template when it has command operators. */
  value: string | HeaderValueTemplate;
  action: Action;
  keepEmpty: boolean;
}

/**
 * Header edits compiled across levels in Envoy's order (route, then virtual host, then route
 * configuration; within a level removals before additions), so the most general level applies last.
 */
export class HeaderMutation {
  private readonly steps: Array<{ remove: string[]; add: HeaderAdd[] }> = [];
  readonly empty: boolean;

  constructor(levels: readonly HeaderMutationLevel[]) {
    for (const level of levels) {
      if (level.add.length === 0 && level.remove.length === 0) continue;
      this.steps.push({
        remove: level.remove.map((n) => n.toLowerCase()),
        add: level.add.map((o) => ({ name: o.header.key.toLowerCase(), value: compileHeaderValue(wireText(o.header.value)), action: actionOf(o.appendAction), keepEmpty: o.keepEmptyValue })),
      });
    }
    this.empty = this.steps.length === 0;
  }

  /** Edits a flat [name, value, ...] header array in place; `source` fills in values with command operators. */
  apply(headers: string[], source: HeaderValueSource): void {
    let record: TemplateRecord | undefined;
    for (const step of this.steps) {
      for (const name of step.remove) removeAll(headers, name);
      for (const a of step.add) {
        let value: string;
        if (typeof a.value === 'string') value = a.value;
        else value = a.value((record ??= source.templateRecord()), source.requestHeaders);
        // As Envoy: a value that comes out empty is not added (nor does it replace one) unless keepEmptyValue.
        if (value === '' && !a.keepEmpty) continue;
        if (a.action === Action.Overwrite) removeAll(headers, a.name);
        else if (a.action === Action.AddIfAbsent && has(headers, a.name)) continue;
        headers.push(a.name, value);
      }
    }
  }
}

function actionOf(a: HeaderValueOption['appendAction']): Action {
  if (a === 'ADD_IF_ABSENT') return Action.AddIfAbsent;
  if (a === 'OVERWRITE_IF_EXISTS_OR_ADD') return Action.Overwrite;
  return Action.Append;
}

function has(headers: readonly string[], name: string): boolean {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return true;
  return false;
}

function removeAll(headers: string[], name: string): void {
  let w = 0;
  for (let r = 0; r < headers.length; r += 2) {
    if (headers[r] === name) continue;
    if (w !== r) {
      headers[w] = headers[r]!;
      headers[w + 1] = headers[r + 1]!;
    }
    w += 2;
  }
  headers.length = w;
}
