import { isIP } from 'node:net';
import type { Address } from '../model/address.js';
import type { AccessLog, AccessLogFormat, ClientCertDetailsSet, FilterChain, HttpConnectionManager, HttpFilter, Listener, NetworkFilter, TcpProxy } from '../model/listener.js';
import { balancerNames } from '../proxy/workers/balancer-registry.js';
import { AccessLogFormatError, compileAccessLogFormat } from '../telemetry/access-log-template.js';
import { describeValue, FieldReader } from './field-reader.js';
import { isFaultFilter, refusedHttpFilter } from './http-filters.js';
import { misplacedFaultFilter, readFilterFault, unusedPerFilterFault } from './fault-reader.js';
import { HCM_FILTER, networkFilterOf, TCP_PROXY_FILTER } from './network-filters.js';
import { isTypedStruct } from './typed-config-type.js';
import { readWeightedClusters } from './weighted-clusters-reader.js';
import { readRouteConfiguration } from './route-reader.js';
import { readDownstreamTls } from './tls-reader.js';

const HOSTNAME_RE = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** Reads `{ socketAddress: { address, portValue } }`; listeners need an IP, DNS clusters may name a host. */
export function readAddress(r: FieldReader, allowHostname = false): Address {
  const s = r.obj('socketAddress');
  s.ignore('protocol');
  const address = s.nonEmptyStr('address');
  if (isIP(address) === 0 && !(allowHostname && HOSTNAME_RE.test(address))) {
    s.fail('address', `"${address}" is not an IP address${allowHostname ? ' or host name' : ''}`);
  }
  const portValue = s.int('portValue', 0, 0, 65535);
  s.done();
  r.done();
  return { socketAddress: { address, portValue } };
}

function readAccessLogs(r: FieldReader): AccessLog[] {
  return r.list('accessLog', (a) => {
    const name = a.optStr('name') ?? 'envoy.access_loggers.file';
    const typed = a.optObj('typedConfig');
    let path = '/dev/stdout';
    let format: AccessLogFormat | undefined;
    if (typed) {
      // Envoy's stream loggers (StdoutAccessLog, StderrAccessLog) have no path: they name their stream by type.
      const type = typed.optStr('@type') ?? '';
      if (type.endsWith('.StderrAccessLog')) path = '/dev/stderr';
      else if (!type.endsWith('.StdoutAccessLog')) path = typed.optStr('path') ?? path;
      format = readLogFormat(typed);
      typed.done();
    }
    a.done();
    return format ? { name, path, format } : { name, path };
  });
}

/** Envoy's logFormat (or the older `format` / `jsonFormat` fields), checked by compiling it now. */
function readLogFormat(typed: FieldReader): AccessLogFormat | undefined {
  let format: AccessLogFormat | undefined;
  let field = 'logFormat';
  const lf = typed.optObj('logFormat');
  if (lf) {
    const text = lf.optStr('textFormat');
    const source = lf.optObj('textFormatSource');
    const json = lf.optObj('jsonFormat');
    const omitEmptyValues = lf.bool('omitEmptyValues', false);
    lf.ignore('contentType', 'formatters');
    const given = [text !== undefined, source !== undefined, json !== undefined].filter(Boolean).length;
    if (given !== 1) lf.fail('', 'exactly one of textFormat, textFormatSource, jsonFormat is required');
    if (text !== undefined) format = { text };
    if (source) {
      format = { text: source.str('inlineString') };
      source.done();
    }
    if (json) format = { json: lf.raw('jsonFormat') as Record<string, unknown> };
    lf.done();
    if (omitEmptyValues) format = { ...format, omitEmptyValues };
  } else {
    // FileAccessLog's deprecated fields: json_format renders every value as a string, typed_json_format keeps types.
    const text = typed.optStr('format');
    const json = typed.optObj('jsonFormat');
    const typedJson = typed.optObj('typedJsonFormat');
    if (text !== undefined) {
      format = { text };
      field = 'format';
    } else if (json) {
      format = { json: typed.raw('jsonFormat') as Record<string, unknown>, jsonStrings: true };
      field = 'jsonFormat';
    } else if (typedJson) {
      format = { json: typed.raw('typedJsonFormat') as Record<string, unknown> };
      field = 'typedJsonFormat';
    }
  }
  if (format) {
    try {
      compileAccessLogFormat(format);
    } catch (err) {
      if (err instanceof AccessLogFormatError) typed.fail(field, err.message);
      throw err;
    }
  }
  return format;
}

function readClientCertDetailsSet(r: FieldReader | undefined): ClientCertDetailsSet {
  const set = { subject: false, cert: false, chain: false, dns: false, uri: false };
  if (!r) return set;
  for (const key of ['subject', 'cert', 'chain', 'dns', 'uri'] as const) set[key] = r.bool(key, false);
  r.done();
  return set;
}

/**
 * Envoy's Http1ProtocolOptions for downstream HTTP/1.x. HTTP/1.0 is served unless acceptHttp10 is
 * false (Envoy refuses it by default; load tools such as ab still speak it). Options this proxy cannot
 * honour are refused rather than ignored.
 */
function readHttp1Options(r: FieldReader | undefined): HttpConnectionManager['httpProtocolOptions'] {
  const options = { acceptHttp10: r ? r.bool('acceptHttp10', true) : true, defaultHostForHttp10: r?.optStr('defaultHostForHttp10') ?? '' };
  if (!r) return options;
  // Header names are written lower-case, and absolute-form targets are always taken.
  r.ignore('headerKeyFormat', 'allowAbsoluteUrl');
  if (r.bool('enableTrailers', false)) r.fail('enableTrailers', 'HTTP/1.1 trailers are not forwarded: only false is supported');
  if (r.bool('allowChunkedLength', false)) r.fail('allowChunkedLength', 'Content-Length with chunked is always refused (request smuggling): only false is supported');
  r.done();
  return options;
}

/**
 * Envoy's tracing block: randomSampling (a Percent, 100 by default) is applied. The provider and
 * the other samplings are accepted, but this proxy propagates trace context and reports no spans.
 */
function readTracingSampling(r: FieldReader | undefined): number {
  if (!r) return 0;
  const random = r.optObj('randomSampling');
  const percent = random ? readPercent(random) : 100;
  r.ignore('clientSampling', 'overallSampling', 'customTags', 'provider', 'verbose', 'maxPathTagLength', 'spawnUpstreamSpan');
  r.done();
  return percent;
}

function readPercent(r: FieldReader): number {
  const v = r.raw('value');
  if (v !== undefined && (typeof v !== 'number' || !(v >= 0 && v <= 100))) r.fail('value', `expected a percentage from 0 to 100, got ${describeValue(v, 'value')}`);
  r.done();
  return (v as number | undefined) ?? 0;
}

function readConnectionKeepalive(r: FieldReader | undefined): HttpConnectionManager['http2ProtocolOptions']['connectionKeepalive'] {
  const keepalive = { interval: r ? r.duration('interval', 15_000) : 15_000, timeout: r ? r.duration('timeout', 10_000) : 10_000 };
  if (r) {
    // Jitter and a separate idle interval change nothing here: only idle sessions are pinged.
    r.ignore('intervalJitter', 'connectionIdleInterval');
    r.done();
  }
  return keepalive;
}

function readEscapedSlashesAction(r: FieldReader): HttpConnectionManager['pathWithEscapedSlashesAction'] {
  const action = r.oneOf('pathWithEscapedSlashesAction', ['IMPLEMENTATION_SPECIFIC_DEFAULT', 'KEEP_UNCHANGED', 'REJECT_REQUEST', 'UNESCAPE_AND_FORWARD', 'UNESCAPE_AND_REDIRECT'] as const, 'KEEP_UNCHANGED');
  return action === 'IMPLEMENTATION_SPECIFIC_DEFAULT' ? 'KEEP_UNCHANGED' : action;
}

function readSchemeHeaderTransformation(r: FieldReader | undefined): HttpConnectionManager['schemeHeaderTransformation'] {
  if (!r) return { matchUpstream: false };
  const overwrite = r.optStr('schemeToOverwrite');
  if (overwrite !== undefined && overwrite !== 'http' && overwrite !== 'https') r.fail('schemeToOverwrite', `must be "http" or "https", got "${overwrite}"`);
  const matchUpstream = r.bool('matchUpstream', false);
  r.done();
  // As Envoy: a scheme to overwrite wins, and matchUpstream is then not used.
  return overwrite !== undefined ? { schemeToOverwrite: overwrite as 'http' | 'https', matchUpstream: false } : { matchUpstream };
}

function readHcm(r: FieldReader): HttpConnectionManager {
  // internalAddressConfig decides which peers count as internal for x-envoy-internal, a header this
  // proxy does not set.
  r.ignore('@type', 'internalAddressConfig');
  const proto = r.optObj('commonHttpProtocolOptions');
  const h2 = r.optObj('http2ProtocolOptions');
  const hcm: HttpConnectionManager = {
    statPrefix: r.optStr('statPrefix') ?? 'http',
    codecType: r.oneOf('codecType', ['AUTO', 'HTTP1', 'HTTP2'] as const, 'AUTO'),
    httpFilters: r.list('httpFilters', (f) => {
      const typed = f.optObj('typedConfig');
      const out: HttpFilter = { name: f.nonEmptyStr('name'), typedConfig: typed ? (f.raw('typedConfig') as Record<string, unknown>) : {} };
      const refused = refusedHttpFilter(out.name, out.typedConfig);
      if (refused !== undefined) f.fail('name', refused);
      if (isFaultFilter(out.name, out.typedConfig)) out.fault = readFilterFault(out.typedConfig, typed);
      f.done();
      return out;
    }),
    accessLog: readAccessLogs(r),
    commonHttpProtocolOptions: {
      idleTimeout: proto ? proto.duration('idleTimeout', 3_600_000) : 3_600_000,
      maxHeadersCount: proto ? proto.int('maxHeadersCount', 100, 1, 10_000) : 100,
      maxRequestsPerConnection: proto ? proto.int('maxRequestsPerConnection', 0) : 0,
      headersWithUnderscoresAction: proto ? proto.oneOf('headersWithUnderscoresAction', ['ALLOW', 'REJECT_REQUEST', 'DROP_HEADER'] as const, 'ALLOW') : 'ALLOW',
    },
    requestHeadersTimeout: r.duration('requestHeadersTimeout', 10_000),
    streamIdleTimeout: r.duration('streamIdleTimeout', 300_000),
    requestTimeout: r.duration('requestTimeout', 0),
    maxRequestHeadersKb: r.int('maxRequestHeadersKb', 60, 1, 8192),
    useRemoteAddress: r.bool('useRemoteAddress', true),
    xffNumTrustedHops: r.int('xffNumTrustedHops', 0, 0, 64),
    generateRequestId: r.bool('generateRequestId', true),
    preserveExternalRequestId: r.bool('preserveExternalRequestId', true),
    alwaysSetRequestIdInResponse: r.bool('alwaysSetRequestIdInResponse', false),
    forwardClientCertDetails: r.oneOf('forwardClientCertDetails', ['SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'] as const, 'SANITIZE'),
    setCurrentClientCertDetails: readClientCertDetailsSet(r.optObj('setCurrentClientCertDetails')),
    // Istio turns normalization on for every proxy; a proxy that routes or authorizes on raw paths is bypassable.
    normalizePath: r.bool('normalizePath', true),
    mergeSlashes: r.bool('mergeSlashes', false),
    pathWithEscapedSlashesAction: readEscapedSlashesAction(r),
    httpProtocolOptions: readHttp1Options(r.optObj('httpProtocolOptions')),
    tracingRandomSampling: readTracingSampling(r.optObj('tracing')),
    upgradeConfigs: r.list('upgradeConfigs', (u) => {
      const out = { upgradeType: u.nonEmptyStr('upgradeType').toLowerCase() };
      // Loading it would promise CONNECT tunnels (Envoy's connect_config) that every CONNECT request refuses.
      if (out.upgradeType === 'connect') u.fail('upgradeType', 'CONNECT tunnelling is not supported');
      u.done();
      return out;
    }),
    http2ProtocolOptions: {
      maxConcurrentStreams: h2 ? h2.int('maxConcurrentStreams', 1024, 1, 2_147_483_647) : 1024,
      connectionKeepalive: readConnectionKeepalive(h2?.optObj('connectionKeepalive')),
    },
    drainTimeout: r.duration('drainTimeout', 5_000),
    delayedCloseTimeout: r.duration('delayedCloseTimeout', 1_000),
    serverName: r.optStr('serverName') ?? 'bulwark',
    serverHeaderTransformation: r.oneOf('serverHeaderTransformation', ['OVERWRITE', 'APPEND_IF_ABSENT', 'PASS_THROUGH'] as const, 'OVERWRITE'),
    schemeHeaderTransformation: readSchemeHeaderTransformation(r.optObj('schemeHeaderTransformation')),
  };
  const misplaced = misplacedFaultFilter(hcm.httpFilters);
  if (misplaced !== undefined) r.fail('httpFilters', misplaced);
  // Flow-control windows are left to node:http2's defaults, as for clusters (Envoy's edge example tunes them).
  h2?.ignore('initialStreamWindowSize', 'initialConnectionWindowSize');
  proto?.done();
  h2?.done();
  const rc = r.optObj('routeConfig');
  if (rc) hcm.routeConfig = readRouteConfiguration(rc);
  const unused = hcm.routeConfig && unusedPerFilterFault(hcm.httpFilters, hcm.routeConfig);
  if (unused !== undefined) r.fail('routeConfig', unused);
  const rds = r.optObj('rds');
  if (rds) {
    rds.ignore('configSource');
    hcm.rds = { routeConfigName: rds.nonEmptyStr('routeConfigName') };
    rds.done();
  }
  r.done();
  if (!hcm.routeConfig === !hcm.rds) r.fail('', 'exactly one of routeConfig, rds is required');
  return hcm;
}

function readTcpProxy(r: FieldReader): TcpProxy {
  r.ignore('@type');
  const tp: TcpProxy = {
    statPrefix: r.optStr('statPrefix') ?? 'tcp',
    cluster: r.optStr('cluster') ?? '',
    idleTimeout: r.duration('idleTimeout', 3_600_000),
    accessLog: readAccessLogs(r),
  };
  const wc = r.optObj('weightedClusters');
  if (wc) {
    tp.weightedClusters = readWeightedClusters(wc);
  }
  r.done();
  if ((tp.cluster === '') === (tp.weightedClusters === undefined)) r.fail('', 'exactly one of cluster, weightedClusters is required');
  return tp;
}

/** Reads a network filter as the one its typed config's type says (network-filters.ts); the model names it by its canonical name. */
function readNetworkFilter(r: FieldReader): NetworkFilter {
  const name = r.nonEmptyStr('name');
  const typed = r.obj('typedConfig');
  const raw = r.raw('typedConfig') as Record<string, unknown>;
  const which = networkFilterOf(name, raw);
  if ('refused' in which) r.fail('name', which.refused);
  // A TypedStruct carries the config's fields under `value`, as Envoy reads it.
  const wrapped = isTypedStruct(raw);
  if (wrapped) typed.ignore('@type', 'typeUrl');
  const config = wrapped ? typed.obj('value') : typed;
  const filter: NetworkFilter = which.filter === HCM_FILTER ? { name: HCM_FILTER, typedConfig: readHcm(config) } : { name: TCP_PROXY_FILTER, typedConfig: readTcpProxy(config) };
  if (wrapped) typed.done();
  r.done();
  return filter;
}

function readFilterChain(r: FieldReader, index: number): FilterChain {
  const chain: FilterChain = { name: r.optStr('name') ?? `chain-${index}`, filters: r.list('filters', readNetworkFilter) };
  const match = r.optObj('filterChainMatch');
  if (match) {
    chain.filterChainMatch = {
      serverNames: match.strList('serverNames').map((s) => s.toLowerCase()),
      applicationProtocols: match.strList('applicationProtocols'),
    };
    if (match.has('transportProtocol')) chain.filterChainMatch.transportProtocol = match.oneOf('transportProtocol', ['tls', 'raw_buffer'] as const, 'tls');
    match.done();
  }
  const ts = r.optObj('transportSocket');
  if (ts) chain.transportSocket = readDownstreamTls(ts);
  if (chain.filters.length !== 1) r.fail('filters', 'needs exactly one terminal network filter (http_connection_manager or tcp_proxy)');
  r.done();
  return chain;
}

/**
 * Listener filters Envoy configs name for what every listener here does by itself: reading the TLS
 * ClientHello (SNI, ALPN) and sniffing HTTP before a filter chain is chosen. Others are refused by
 * name, so a config that relies on one (original_dst, proxy_protocol) fails to load rather than
 * running without it.
 */
const BUILT_IN_LISTENER_FILTERS = ['envoy.filters.listener.tls_inspector', 'envoy.filters.listener.http_inspector'];

function readListenerFilters(r: FieldReader): void {
  r.list('listenerFilters', (f) => {
    const name = f.nonEmptyStr('name');
    if (!BUILT_IN_LISTENER_FILTERS.includes(name)) f.fail('name', `listener filter "${name}" is not supported (supported: ${BUILT_IN_LISTENER_FILTERS.join(', ')})`);
    f.ignore('typedConfig');
    f.done();
  });
}

/** Reads a Listener; at least one filter chain, and the balancer named by connectionBalanceConfig. */
export function readListener(r: FieldReader): Listener {
  r.ignore('@type');
  const given = r.optStr('name');
  const address = readAddress(r.obj('address'));
  // Envoy names a listener given without a name itself (its examples leave most unnamed); here the
  // name is its address, stable across restarts, as Istio names its listeners.
  const name = given || `${address.socketAddress.address}_${address.socketAddress.portValue}`;
  const filterChains = r.list('filterChains', readFilterChain);
  if (filterChains.length === 0) r.fail('filterChains', 'needs at least one filter chain');
  const cbc = r.optObj('connectionBalanceConfig');
  let balancer = 'none';
  if (cbc) {
    if (cbc.has('exactBalance')) {
      cbc.ignore('exactBalance');
      balancer = 'exact';
    }
    balancer = cbc.optStr('balancer') ?? balancer;
    if (!balancerNames().includes(balancer)) cbc.fail('balancer', `unknown connection balancer "${balancer}" (known: ${balancerNames().join(', ')})`);
    cbc.done();
  }
  const listener: Listener = {
    name,
    address,
    filterChains,
    connectionBalanceConfig: { balancer },
    perConnectionBufferLimitBytes: r.int('perConnectionBufferLimitBytes', 1024 * 1024, 1024),
    // Envoy's default: a connection that sends nothing cannot hold a descriptor for ever.
    listenerFiltersTimeout: r.duration('listenerFiltersTimeout', 15_000),
    trafficDirection: r.oneOf('trafficDirection', ['UNSPECIFIED', 'INBOUND', 'OUTBOUND'] as const, 'UNSPECIFIED'),
  };
  // Every listener binds its port; a listener that does not (an Istio virtual inbound reached through
  // the original-destination filter) cannot be served here.
  if (!r.bool('bindToPort', true)) r.fail('bindToPort', 'only true is supported: every listener binds its address');
  readListenerFilters(r);
  r.done();
  return listener;
}
