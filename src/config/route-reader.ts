import type {
  HeaderMatcher,
  HeaderValueOption,
  QueryParameterMatcher,
  RedirectAction,
  RetryPolicy,
  Route,
  RouteAction,
  RouteConfiguration,
  RouteMatch,
  VirtualHost,
} from '../model/route.js';
import { readWeightedClusters } from './weighted-clusters-reader.js';
import { RETRY_ON_CONDITIONS, RETRY_POLICY_DEFAULTS } from '../model/route.js';
import { describeValue, FieldReader } from './field-reader.js';
import { readCorsPolicy } from './cors-policy-reader.js';
import { readPerFilterConfigs } from './per-filter-config-reader.js';
import { readRegexMatcher } from './regex-matcher-reader.js';
import { readStringMatcher } from './tls-reader.js';
import { AccessLogFormatError, compileHeaderValue } from '../telemetry/access-log-template.js';

const HEADER_NAME_RE = /^:?[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const PREVIOUS_HOSTS = 'envoy.retry_host_predicates.previous_hosts';
const REDIRECT_CODES: Record<string, number> = {
  MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308,
};

function headerName(r: FieldReader, key: string): string {
  const name = r.nonEmptyStr(key).toLowerCase();
  if (!HEADER_NAME_RE.test(name)) r.fail(key, `"${name}" is not a valid header name`);
  return name;
}

/**
 * Envoy's rule for header edits: pseudo-headers and Host are the router's (path, authority
 * rewrites), and node:http2 refuses an unknown pseudo-header outright.
 */
function isEditableHeader(name: string): boolean {
  return !name.startsWith(':') && name !== 'host';
}

function readHeaderOptions(r: FieldReader, key: string): HeaderValueOption[] {
  return r.list(key, (o) => {
    const h = o.obj('header');
    const opt: HeaderValueOption = {
      header: { key: headerName(h, 'key'), value: h.str('value') },
      appendAction: 'APPEND_IF_EXISTS_OR_ADD',
      keepEmptyValue: o.bool('keepEmptyValue', false),
    };
    if (!isEditableHeader(opt.header.key)) h.fail('key', `"${opt.header.key}": pseudo-headers and host may not be modified`);
    // The codecs write a message's framing from its body; a configured one would contradict it, and the
    // next message on the connection would be read from the wrong byte (request smuggling).
    if (opt.header.key === 'content-length' || opt.header.key === 'transfer-encoding') h.fail('key', `"${opt.header.key}": message framing is set by the proxy and may not be added`);
    if (/[\r\n\0]/.test(opt.header.value)) h.fail('value', 'must not contain CR, LF or NUL');
    // Envoy reads a value's %...% as a command operator: one that cannot be filled in must not go out as text.
    try {
      compileHeaderValue(opt.header.value);
    } catch (err) {
      if (err instanceof AccessLogFormatError) h.fail('value', `${err.message} (a literal percent sign is written %%)`);
      throw err;
    }
    h.done();
    // Envoy's older boolean `append` maps onto appendAction.
    if (o.has('append')) opt.appendAction = o.bool('append', true) ? 'APPEND_IF_EXISTS_OR_ADD' : 'OVERWRITE_IF_EXISTS_OR_ADD';
    opt.appendAction = o.oneOf('appendAction', ['APPEND_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT', 'OVERWRITE_IF_EXISTS_OR_ADD'] as const, opt.appendAction);
    o.done();
    return opt;
  });
}

function readHeaderNames(r: FieldReader, key: string): string[] {
  const names = r.strList(key).map((n) => n.toLowerCase());
  for (const n of names) if (!HEADER_NAME_RE.test(n)) r.fail(key, `"${n}" is not a valid header name`);
  return names;
}

function readRemovedHeaders(r: FieldReader, key: string): string[] {
  const names = readHeaderNames(r, key);
  for (const n of names) if (!isEditableHeader(n)) r.fail(key, `"${n}": pseudo-headers and host may not be removed`);
  return names;
}

/** Reads Envoy's HeaderMatcher (a route's match.headers, a fault's headers). */
export function readHeaderMatcher(r: FieldReader): HeaderMatcher {
  const m: HeaderMatcher = { name: headerName(r, 'name'), invertMatch: r.bool('invertMatch', false) };
  if (r.has('stringMatch')) m.stringMatch = readStringMatcher(r.obj('stringMatch'), true);
  // Envoy's deprecated direct forms, still common in examples.
  else if (r.has('exactMatch')) m.stringMatch = { exact: r.str('exactMatch') };
  else if (r.has('prefixMatch')) m.stringMatch = { prefix: r.str('prefixMatch') };
  else if (r.has('suffixMatch')) m.stringMatch = { suffix: r.str('suffixMatch') };
  else if (r.has('safeRegexMatch')) m.stringMatch = readStringMatcher(FieldReader.of({ safeRegex: r.raw('safeRegexMatch') }, r.file, r.resource, r.fieldPath('safeRegexMatch')), true);
  if (r.has('presentMatch')) m.presentMatch = r.bool('presentMatch', true);
  if (m.stringMatch && m.presentMatch !== undefined) r.fail('presentMatch', 'cannot be combined with a string match');
  if (!m.stringMatch && m.presentMatch === undefined) m.presentMatch = true;
  r.done();
  return m;
}

function readQueryMatcher(r: FieldReader): QueryParameterMatcher {
  const m: QueryParameterMatcher = { name: r.nonEmptyStr('name') };
  if (r.has('stringMatch')) m.stringMatch = readStringMatcher(r.obj('stringMatch'), true);
  if (r.has('presentMatch')) m.presentMatch = r.bool('presentMatch', true);
  if (!m.stringMatch && m.presentMatch === undefined) m.presentMatch = true;
  r.done();
  return m;
}

function readMatch(r: FieldReader): RouteMatch {
  const m: RouteMatch = {
    prefix: r.optStr('prefix'),
    path: r.optStr('path'),
    pathSeparatedPrefix: r.optStr('pathSeparatedPrefix'),
    caseSensitive: r.bool('caseSensitive', true),
    headers: r.list('headers', readHeaderMatcher),
    queryParameters: r.list('queryParameters', readQueryMatcher),
    grpc: false,
  };
  // Envoy's GrpcRouteMatchOptions has no fields: its presence is the condition.
  const grpc = r.optObj('grpc');
  if (grpc) {
    grpc.done();
    m.grpc = true;
  }
  const re = r.optObj('safeRegex');
  if (re) m.safeRegex = readRegexMatcher(re);
  const set = [m.prefix, m.path, m.safeRegex, m.pathSeparatedPrefix].filter((v) => v !== undefined).length;
  // Unknown fields first: a misspelt `prefx` is the likelier cause of a missing path matcher.
  r.done();
  if (set !== 1) r.fail('', 'exactly one of prefix, path, safeRegex, pathSeparatedPrefix is required');
  if (m.path !== undefined && !m.path.startsWith('/')) r.fail('path', 'must start with "/"');
  return m;
}

/** A list of HTTP status codes; absent means none. */
function readStatusCodes(r: FieldReader, key: string): number[] {
  const codes = r.raw(key);
  if (codes === undefined) return [];
  if (!Array.isArray(codes)) r.fail(key, 'expected a list of status codes');
  for (const c of codes) {
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 100 || c > 599) r.fail(key, `invalid status code ${describeValue(c, key)}`);
  }
  return codes as number[];
}

/** Reads Envoy's RetryPolicy; retryOn is a comma-separated list. */
export function readRetryPolicy(r: FieldReader): RetryPolicy {
  const retryOn = r.str('retryOn').split(',').map((s) => s.trim()).filter(Boolean);
  for (const cond of retryOn) if (!RETRY_ON_CONDITIONS.has(cond)) r.fail('retryOn', `unknown retry condition "${cond}"`);
  const backOff = r.optObj('retryBackOff');
  const defaults = RETRY_POLICY_DEFAULTS.retryBackOff;
  const base = backOff ? backOff.duration('baseInterval', defaults.baseInterval) : defaults.baseInterval;
  const policy: RetryPolicy = {
    retryOn,
    numRetries: r.int('numRetries', 1, 0, 100),
    perTryTimeout: r.optDuration('perTryTimeout'),
    retriableStatusCodes: readStatusCodes(r, 'retriableStatusCodes'),
    retryBackOff: { baseInterval: base, maxInterval: backOff ? backOff.duration('maxInterval', base * 10) : base * 10 },
    avoidPreviousHosts: false,
    hostSelectionRetryMaxAttempts: r.int('hostSelectionRetryMaxAttempts', RETRY_POLICY_DEFAULTS.hostSelectionRetryMaxAttempts, 1, 100),
  };
  if (backOff) backOff.done();
  r.list('retryHostPredicate', (p) => {
    const name = p.nonEmptyStr('name');
    if (name !== PREVIOUS_HOSTS) p.fail('name', `retry host predicate "${name}" is not supported (supported: ${PREVIOUS_HOSTS})`);
    p.ignore('typedConfig');
    p.done();
    policy.avoidPreviousHosts = true;
  });
  r.done();
  return policy;
}

function readRouteAction(r: FieldReader): RouteAction {
  const a: RouteAction = {
    cluster: r.optStr('cluster'),
    prefixRewrite: r.optStr('prefixRewrite'),
    hostRewriteLiteral: r.optStr('hostRewriteLiteral'),
    autoHostRewrite: r.bool('autoHostRewrite', false),
    timeout: r.duration('timeout', 15_000),
    idleTimeout: r.optDuration('idleTimeout'),
    hashPolicy: r.list('hashPolicy', (h) => {
      const header = h.optObj('header');
      const conn = h.optObj('connectionProperties');
      const out = {
        header: header ? { headerName: headerName(header, 'headerName') } : undefined,
        connectionProperties: conn ? { sourceIp: conn.bool('sourceIp', true) } : undefined,
      };
      header?.done();
      conn?.done();
      h.done();
      if (!out.header && !out.connectionProperties) h.fail('', 'one of header, connectionProperties is required');
      return out;
    }),
  };
  const wc = r.optObj('weightedClusters');
  if (wc) {
    wc.ignore('totalWeight');
    a.weightedClusters = { clusters: readWeightedClusters(wc) };
  }
  const rr = r.optObj('regexRewrite');
  if (rr) {
    a.regexRewrite = { pattern: readRegexMatcher(rr.obj('pattern')), substitution: rr.str('substitution') };
    rr.done();
  }
  const retry = r.optObj('retryPolicy');
  if (retry) a.retryPolicy = readRetryPolicy(retry);
  const cors = r.optObj('cors');
  if (cors) a.cors = readCorsPolicy(cors);
  const msd = r.optObj('maxStreamDuration');
  if (msd) {
    a.maxStreamDuration = {
      maxStreamDuration: msd.duration('maxStreamDuration', 0),
      grpcTimeoutHeaderMax: msd.optDuration('grpcTimeoutHeaderMax'),
      grpcTimeoutHeaderOffset: msd.duration('grpcTimeoutHeaderOffset', 0),
    };
    msd.done();
  }
  r.done();
  if ((a.cluster === undefined) === (a.weightedClusters === undefined)) r.fail('', 'exactly one of cluster, weightedClusters is required');
  if (a.prefixRewrite !== undefined && a.regexRewrite) r.fail('regexRewrite', 'cannot be combined with prefixRewrite');
  return a;
}

function readRedirect(r: FieldReader): RedirectAction {
  const codeRaw = r.raw('responseCode');
  let responseCode = 301;
  if (typeof codeRaw === 'string') {
    const c = REDIRECT_CODES[codeRaw];
    if (c === undefined) r.fail('responseCode', `must be one of ${Object.keys(REDIRECT_CODES).join(', ')}`);
    responseCode = c;
  } else if (typeof codeRaw === 'number') {
    if (!Object.values(REDIRECT_CODES).includes(codeRaw)) r.fail('responseCode', 'must be 301, 302, 303, 307 or 308');
    responseCode = codeRaw;
  } else if (codeRaw !== undefined) r.fail('responseCode', 'expected a redirect code');
  const a: RedirectAction = {
    schemeRedirect: r.optStr('schemeRedirect'),
    httpsRedirect: r.bool('httpsRedirect', false),
    hostRedirect: r.optStr('hostRedirect'),
    portRedirect: r.optInt('portRedirect', 1, 65535),
    pathRedirect: r.optStr('pathRedirect'),
    prefixRewrite: r.optStr('prefixRewrite'),
    responseCode,
    stripQuery: r.bool('stripQuery', false),
  };
  if (a.pathRedirect !== undefined && a.prefixRewrite !== undefined) r.fail('prefixRewrite', 'cannot be combined with pathRedirect');
  r.done();
  return a;
}

function readRoute(r: FieldReader): Route {
  const route: Route = {
    name: r.optStr('name'),
    match: readMatch(r.obj('match')),
    requestHeadersToAdd: readHeaderOptions(r, 'requestHeadersToAdd'),
    requestHeadersToRemove: readRemovedHeaders(r, 'requestHeadersToRemove'),
    responseHeadersToAdd: readHeaderOptions(r, 'responseHeadersToAdd'),
    responseHeadersToRemove: readRemovedHeaders(r, 'responseHeadersToRemove'),
  };
  const action = r.optObj('route');
  if (action) route.route = readRouteAction(action);
  const redirect = r.optObj('redirect');
  if (redirect) route.redirect = readRedirect(redirect);
  const direct = r.optObj('directResponse');
  if (direct) {
    const body = direct.optObj('body');
    route.directResponse = { status: direct.int('status', 200, 200, 599) };
    if (body) {
      route.directResponse.body = { inlineString: body.str('inlineString') };
      body.done();
    }
    direct.done();
  }
  if ([route.route, route.redirect, route.directResponse].filter(Boolean).length !== 1) {
    r.fail('', 'exactly one of route, redirect, directResponse is required');
  }
  const routeFilters = readPerFilterConfigs(r, true);
  if (routeFilters.cors) route.corsPolicy = routeFilters.cors;
  if (routeFilters.fault) route.fault = routeFilters.fault;
  r.ignore('decorator');
  r.done();
  return route;
}

const DOMAIN_RE = /^(\*|\*[.-][^*]+|[^*]+[.-]\*|[^*]+)$/;

function readVirtualHost(r: FieldReader): VirtualHost {
  const retry = r.optObj('retryPolicy');
  const vh: VirtualHost = {
    name: r.nonEmptyStr('name'),
    domains: r.strList('domains').map((d) => d.toLowerCase()),
    routes: r.list('routes', readRoute),
    requestHeadersToAdd: readHeaderOptions(r, 'requestHeadersToAdd'),
    requestHeadersToRemove: readRemovedHeaders(r, 'requestHeadersToRemove'),
    responseHeadersToAdd: readHeaderOptions(r, 'responseHeadersToAdd'),
    responseHeadersToRemove: readRemovedHeaders(r, 'responseHeadersToRemove'),
    retryPolicy: retry ? readRetryPolicy(retry) : undefined,
    includeRequestAttemptCount: r.bool('includeRequestAttemptCount', false),
  };
  const vhFilters = readPerFilterConfigs(r, true);
  if (vhFilters.cors) vh.corsPolicy = vhFilters.cors;
  if (vhFilters.fault) vh.fault = vhFilters.fault;
  const cors = r.optObj('cors');
  if (cors) vh.cors = readCorsPolicy(cors);
  if (vh.domains.length === 0) r.fail('domains', 'needs at least one domain');
  for (const d of vh.domains) if (!DOMAIN_RE.test(d)) r.fail('domains', `"${d}" is not a valid domain (one wildcard, at the start or end)`);
  r.done();
  return vh;
}

/** Reads a RouteConfiguration; domains must be unique across its virtual hosts, as in Envoy. */
export function readRouteConfiguration(r: FieldReader): RouteConfiguration {
  r.ignore('@type', 'validateClusters');
  const rc: RouteConfiguration = {
    name: r.optStr('name') ?? 'inline',
    virtualHosts: r.list('virtualHosts', readVirtualHost),
    internalOnlyHeaders: readHeaderNames(r, 'internalOnlyHeaders'),
    requestHeadersToAdd: readHeaderOptions(r, 'requestHeadersToAdd'),
    requestHeadersToRemove: readRemovedHeaders(r, 'requestHeadersToRemove'),
    responseHeadersToAdd: readHeaderOptions(r, 'responseHeadersToAdd'),
    responseHeadersToRemove: readRemovedHeaders(r, 'responseHeadersToRemove'),
  };
  const rcFault = readPerFilterConfigs(r, false).fault;
  if (rcFault) rc.fault = rcFault;
  const seen = new Map<string, string>();
  for (const vh of rc.virtualHosts) {
    for (const d of vh.domains) {
      const other = seen.get(d);
      if (other !== undefined) r.fail('virtualHosts', `domain "${d}" appears in both "${other}" and "${vh.name}"`);
      seen.set(d, vh.name);
    }
  }
  r.done();
  return rc;
}
