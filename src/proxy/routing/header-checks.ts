import type { HeaderMatcher } from '../../model/route.js';
import type { RegexEngine } from './regex-engine.js';
import type { RequestView } from './request-view.js';
import { CompiledStringMatcher } from './string-matcher.js';

/** One of Envoy's HeaderMatchers, compiled: a route's match and a fault's `headers` both check requests with these. */
export interface HeaderCheck {
  name: string;
  matcher: CompiledStringMatcher | undefined;
  present: boolean | undefined;
  invert: boolean;
}

export function compileHeaderChecks(headers: readonly HeaderMatcher[], engine: RegexEngine): HeaderCheck[] {
  return headers.map((h) => ({
    name: h.name.toLowerCase(),
    matcher: h.stringMatch ? new CompiledStringMatcher(h.stringMatch, engine) : undefined,
    present: h.presentMatch,
    invert: h.invertMatch,
  }));
}

/** Every check holds for the request `view` shows (Envoy's HeaderUtility::matchHeaders: all must match). */
export function headersMatch(checks: readonly HeaderCheck[], view: RequestView): boolean {
  for (let i = 0; i < checks.length; i++) {
    const h = checks[i]!;
    const value = view.header(h.name);
    let ok: boolean;
    if (h.present !== undefined) ok = (value !== undefined) === h.present;
    else if (h.matcher) ok = value !== undefined && h.matcher.matches(value);
    else ok = value !== undefined;
    if (ok === h.invert) return false;
  }
  return true;
}
