/**
 * Envoy access log formats (`logFormat.textFormat` / `textFormatSource` / `jsonFormat`): a template of
 * command operators compiled once into a function from a log record to a line. The JSON layout of
 * access-log-format.ts stays the fast default; a config that names its own format gets this one.
 *
 * Supported operators, each resolved from the record the data path already builds:
 *   %START_TIME% (with an optional strftime subset: %Y %m %d %H %M %S %z %s %3f %6f %9f %f),
 *   %REQ(H)% / %REQ(H?ALT)% with an optional :N length limit (pseudo-headers :method :path
 *   :authority, :path as sent upstream after a rewrite; x-envoy-original-path as the request
 *   carries it upstream, the path as received on a rewrite; any other request header),
 *   %RESP(H)% / %RESP(H?ALT)% (the response head sent downstream, :status included) and
 *   %TRAILER(H)% (the response's trailers) with the same :N limit, and Envoy's longer aliases
 *   %REQUEST_HEADER(...)%, %RESPONSE_HEADER(...)% and %RESPONSE_TRAILER(...)%, %REQUEST_DURATION%,
 *   %REQUEST_TX_DURATION%, %RESPONSE_DURATION%, %RESPONSE_TX_DURATION% ("-" on TCP, as in Envoy),
 *   %ROUNDTRIP_DURATION% (HTTP/3 only in Envoy: always "-" here),
 *   %UPSTREAM_REQUEST_ATTEMPT_COUNT%, %PROTOCOL%, %RESPONSE_CODE%, %RESPONSE_FLAGS%,
 *   %RESPONSE_CODE_DETAILS%, %CONNECTION_TERMINATION_DETAILS%, %UPSTREAM_TRANSPORT_FAILURE_REASON%,
 *   %BYTES_RECEIVED%, %BYTES_SENT%, %DURATION%, %UPSTREAM_HOST%, %UPSTREAM_CLUSTER% (and
 *   %UPSTREAM_CLUSTER_RAW%, the same here: clusters have no alt_stat_name),
 *   %UPSTREAM_LOCAL_ADDRESS%, %DOWNSTREAM_LOCAL_ADDRESS%, %DOWNSTREAM_REMOTE_ADDRESS%,
 *   %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%, %DOWNSTREAM_DIRECT_REMOTE_ADDRESS% (and _WITHOUT_PORT), %REQUESTED_SERVER_NAME%, %ROUTE_NAME%,
 *   %DOWNSTREAM_PEER_URI_SAN%, %TRACE_ID%, %UPSTREAM_REMOTE_ADDRESS% (the host, once connected to),
 *   the _WITHOUT_PORT and _PORT forms of the upstream and downstream addresses (ports are numbers
 *   in JSON), %UPSTREAM_PROTOCOL%, %DOWNSTREAM_TLS_VERSION%, %DOWNSTREAM_TLS_CIPHER%, %CONNECTION_ID%, %HOSTNAME%,
 *   %ENVIRONMENT(X):N%, and %% for a percent sign.
 * Anything else is refused when the config loads: a format that silently printed "-" would hide
 * what the operator asked to see. Response headers, trailers and phase times are kept by a stream
 * only when a format of its listener reads them (access-log-reads.ts).
 */
import { hostname } from 'node:os';
import type { AccessLogFormat } from '../model/listener.js';
import type { HttpAccessLogRecord, TcpAccessLogRecord } from './access-log-format.js';
import { noReads, type AccessLogReads } from './access-log-reads.js';
import { jsonString } from './json-fragments.js';

/** What a template reads: an HTTP or TCP record (the request headers come beside it, when there are any). */
export type TemplateRecord = Partial<HttpAccessLogRecord> & Partial<TcpAccessLogRecord>;

/** Makes one line (without its newline) from a record and the request's headers (flat name/value list). */
export type AccessLogLine = (r: TemplateRecord, requestHeaders?: readonly string[]) => string;

export class AccessLogFormatError extends Error {}

/**
 * A value for one operator: a string, a number, or undefined for "not known" ("-" in text, null in JSON).
 * An empty string is a value (a header sent empty), written as nothing, as Envoy writes it.
 */
type Getter = (r: TemplateRecord, headers: readonly string[] | undefined) => string | number | undefined;

/** A header value with command operators, made for one request from what the proxy knows of it so far. */
export type HeaderValueTemplate = (r: TemplateRecord, requestHeaders?: readonly string[]) => string;

/**
 * Envoy's custom header values (request/response_headers_to_add): the same command operators as an
 * access log, a value unknown so far rendered empty (Envoy omits empty values there), %% a percent
 * sign. The value itself when it has no operator. Throws AccessLogFormatError for one it cannot resolve.
 */
export function compileHeaderValue(value: string): string | HeaderValueTemplate {
  if (!value.includes('%')) return value;
  const reads = noReads();
  const parts = compileTemplate(value, reads);
  // The stream keeps these only for an access log, and they are not known yet when a header is added.
  if (reads.lineOnly) throw new AccessLogFormatError(`"${value}": the response, durations, the upstream's protocol and tries and the TLS session are known to access log lines only, not when a header value is made`);
  if (parts.every((p) => typeof p === 'string')) return parts.join('');
  return (r, headers) => {
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') out += p;
      else {
        const v = p(r, headers);
        if (v !== undefined) out += String(v);
      }
    }
    return out;
  };
}

/**
 * Compiles a format into a function making one line; throws AccessLogFormatError naming the first
 * operator it cannot resolve. What the format reads beyond the record is flagged in `reads`.
 */
export function compileAccessLogFormat(format: AccessLogFormat, reads: AccessLogReads = noReads()): AccessLogLine {
  // Envoy's omit_empty_values: an unknown value is "" instead of "-", and a JSON key whose value is unknown is left out.
  const unknown = format.omitEmptyValues === true ? '' : '-';
  if (format.json !== undefined) return compileJson(format.json, { omitNull: unknown === '', unknown, strings: format.jsonStrings === true, reads });
  // Lines are written a byte per character (wire bytes as Latin-1): the format's own text goes as its
  // UTF-8 bytes, as Envoy writes it, once here rather than per line.
  const parts = compileTemplate(format.text ?? '', reads).map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8').toString('latin1') : p));
  return (r, headers) => {
    const out = render(parts, r, headers, unknown);
    // The writer ends every line itself; a format's own final newline (Envoy's usually has one) goes.
    return out.endsWith('\n') ? out.slice(0, -1) : out;
  };
}

/** A template as text: literals as they are, unknown values as `unknown` ("-", or "" with omitEmptyValues). */
function render(parts: ReadonlyArray<string | Getter>, r: TemplateRecord, headers: readonly string[] | undefined, unknown: string): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') out += p;
    else {
      const v = p(r, headers);
      out += v === undefined ? unknown : String(v);
    }
  }
  return out;
}

/** One value of a JSON format, made for one record; undefined when unknown (null, or left out with omitEmptyValues). */
type JsonValue = (r: TemplateRecord, headers: readonly string[] | undefined) => unknown;

function compileJson(spec: Record<string, unknown>, o: JsonOptions): AccessLogLine {
  const root = compileJsonObject(spec, 'jsonFormat', o);
  return (r, headers) => jsonText(root(r, headers));
}

/**
 * JSON text of a format's value, its strings spelled as the built-in layout spells them (jsonString):
 * wire bytes that are not UTF-8 become \u00XX escapes, as Envoy's JSON sanitizer writes them, and
 * characters beyond Latin-1 their UTF-8 bytes, so every line is valid UTF-8 (JSON.stringify would
 * leave a stray 0xE9 in the line, and the Latin-1 writer would cut a wide character to one byte).
 */
function jsonText(v: unknown): string {
  if (typeof v === 'string') return jsonString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return '[' + v.map(jsonText).join(',') + ']';
  let out = '';
  for (const [key, value] of Object.entries(v as Record<string, unknown>)) out += (out === '' ? '' : ',') + jsonString(key) + ':' + jsonText(value);
  return '{' + out + '}';
}

interface JsonOptions {
  /** omitEmptyValues: a key whose value is unknown is left out. */
  omitNull: boolean;
  /** How an unknown value inside a longer string is written. */
  unknown: string;
  /** Every operator's value a string, unknown "-" (the deprecated FileAccessLog.json_format). */
  strings: boolean;
  reads: AccessLogReads;
}

/**
 * Envoy's format dictionary: strings are templates, and nested objects, lists, numbers, booleans and
 * null are kept as they are (their strings templates too).
 */
function compileJsonValue(value: unknown, at: string, o: JsonOptions): JsonValue {
  if (typeof value === 'string') {
    const parts = compileTemplate(value, o.reads);
    if (parts.length === 1 && typeof parts[0] !== 'string') {
      const get = parts[0]!;
      if (o.strings) return (r, headers) => String(get(r, headers) ?? '-');
      // A value that is one operator keeps its type: numbers stay numbers, unknown is null.
      return get;
    }
    if (parts.every((p) => typeof p === 'string')) return () => value;
    return (r, headers) => render(parts, r, headers, o.unknown);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return () => value;
  if (value === null) return () => undefined;
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileJsonValue(v, `${at}[${i}]`, o));
    return (r, headers) => items.map((item) => item(r, headers) ?? null);
  }
  if (typeof value === 'object') return compileJsonObject(value as Record<string, unknown>, at, o);
  throw new AccessLogFormatError(`${at}: a JSON format value is a string, number, boolean, list or object`);
}

function compileJsonObject(spec: Record<string, unknown>, at: string, o: JsonOptions): JsonValue {
  const fields = Object.entries(spec).map(([key, v]) => [key, compileJsonValue(v, `${at}.${key}`, o)] as const);
  return (r, headers) => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of fields) {
      const v = value(r, headers);
      if (v !== undefined) out[key] = v;
      else if (!o.omitNull) out[key] = null;
    }
    return out;
  };
}

const OPERATOR = /%([A-Z_]+)(?:\(([^)]*)\))?(?::(\d+))?%/y;

function compileTemplate(template: string, reads: AccessLogReads): Array<string | Getter> {
  const parts: Array<string | Getter> = [];
  let literal = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i]!;
    if (c !== '%') {
      literal += c;
      i++;
      continue;
    }
    if (template[i + 1] === '%') {
      literal += '%';
      i += 2;
      continue;
    }
    OPERATOR.lastIndex = i;
    const m = OPERATOR.exec(template);
    if (!m) throw new AccessLogFormatError(`unterminated or malformed command operator at "${template.slice(i, i + 30)}"`);
    if (literal) parts.push(literal);
    literal = '';
    const getter = operator(m[1]!, m[2], m[3] === undefined ? undefined : Number(m[3]), reads);
    parts.push(getter);
    i = OPERATOR.lastIndex;
  }
  if (literal) parts.push(literal);
  return parts;
}

function limited(get: Getter, max: number | undefined): Getter {
  if (max === undefined) return get;
  return (r, headers) => {
    const v = get(r, headers);
    return typeof v === 'string' && v.length > max ? v.slice(0, max) : v;
  };
}

/** Envoy's long names for %REQ%, %RESP% and %TRAILER%, which its docs now use. */
const ALIASES: Record<string, string> = { REQUEST_HEADER: 'REQ', RESPONSE_HEADER: 'RESP', RESPONSE_TRAILER: 'TRAILER' };

function operator(given: string, arg: string | undefined, max: number | undefined, reads: AccessLogReads): Getter {
  const name = ALIASES[given] ?? given;
  const simple = SIMPLE[name];
  const timing = TIMINGS[name];
  if (simple !== undefined || timing !== undefined) {
    // Envoy's COMMAND_ONLY operators: a length limit is refused as an argument is, not ignored.
    if (arg !== undefined || max !== undefined) throw new AccessLogFormatError(`%${name}% does not take any parameters or length`);
    if (simple !== undefined) {
      for (const kept of KEPT_FOR_FORMATS[name] ?? []) reads[kept] = true;
      return unsetWhenEmpty(simple);
    }
    reads.timings = reads.details = reads.lineOnly = true;
    return timing!;
  }
  if (name === 'START_TIME') {
    if (max !== undefined) throw new AccessLogFormatError('%START_TIME% does not allow length to be specified');
    return startTime(arg);
  }
  if (name === 'ENVIRONMENT') {
    if (!arg) throw new AccessLogFormatError('%ENVIRONMENT(...)% needs a variable name');
    // Read when the format is compiled, as Envoy reads it once; unset is unknown.
    const value = process.env[arg];
    return limited(() => value, max);
  }
  if (name === 'REQ') {
    // Istio's pair is the record's own path (the built-in layout's), read without the details.
    if (arg?.replaceAll(' ', '').toLowerCase() === 'x-envoy-original-path?:path') return limited((r) => r.path || undefined, max);
    return headerOperator(name, arg, max, (h) => requestHeader(h, reads));
  }
  if (name === 'RESP') return headerOperator(name, arg, max, (h) => responseHeader(h, reads));
  if (name === 'TRAILER') {
    reads.responseTrailers = reads.details = reads.lineOnly = true;
    return headerOperator(name, arg, max, (h) => (r) => headerIn(r.details?.responseTrailers, h));
  }
  throw new AccessLogFormatError(`command operator %${name}% is not supported`);
}

/** %REQ(H?ALT):N% and its kin: the first header present, cut to N characters. */
function headerOperator(name: string, arg: string | undefined, max: number | undefined, header: (lowerCaseName: string) => Getter): Getter {
  if (!arg) throw new AccessLogFormatError(`%${name}(...)% needs a header name`);
  const names = arg.split('?').map((h) => h.trim().toLowerCase());
  if (names.length > 2) throw new AccessLogFormatError(`%${name}(${arg})%: more than 1 alternative header`);
  const [main, alt] = names;
  const first = header(main!);
  const second = alt ? header(alt) : undefined;
  return limited(second ? (r, headers) => first(r, headers) ?? second(r, headers) : first, max);
}

/** A header of the response sent downstream; x-envoy-upstream-service-time is in every record, the rest are kept for the formats that read them. */
function responseHeader(name: string, reads: AccessLogReads): Getter {
  // The header's value as sent (see HttpStream): a header is a string, in JSON formats too, as in Envoy.
  if (name === 'x-envoy-upstream-service-time') return (r) => (r.upstreamServiceTimeMs !== undefined && r.upstreamServiceTimeMs >= 0 ? String(Math.round(r.upstreamServiceTimeMs)) : undefined);
  if (name === ':status') return (r) => (r.responseCode ? String(r.responseCode) : undefined);
  if (name.startsWith(':')) throw new AccessLogFormatError(`%RESP(${name})%: unknown pseudo-header`);
  reads.responseHeaders = reads.details = reads.lineOnly = true;
  return (r) => headerIn(r.details?.responseHeaders, name);
}

/** Values the data path fills in only for a format that reads them (in LogDetails). */
const KEPT_FOR_FORMATS: Record<string, ReadonlyArray<keyof AccessLogReads>> = {
  CONNECTION_ID: ['details'],
  UPSTREAM_PROTOCOL: ['details', 'lineOnly'],
  UPSTREAM_REQUEST_ATTEMPT_COUNT: ['details', 'lineOnly'],
  DOWNSTREAM_TLS_VERSION: ['downstreamTls', 'details', 'lineOnly'],
  DOWNSTREAM_TLS_CIPHER: ['downstreamTls', 'details', 'lineOnly'],
};

/** Whole milliseconds, truncated as Envoy's duration_cast<milliseconds> does; unknown stays unknown. */
const wholeMs = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : Math.floor(ms));

/** The phases of an HTTP request (Envoy's: "-" on TCP, and for a phase that did not happen). */
const TIMINGS: Record<string, Getter> = {
  REQUEST_DURATION: (r) => wholeMs(r.details?.requestDurationMs),
  REQUEST_TX_DURATION: (r) => wholeMs(r.details?.requestTxDurationMs),
  RESPONSE_DURATION: (r) => wholeMs(r.details?.responseDurationMs),
  RESPONSE_TX_DURATION: (r) => wholeMs(r.details?.responseTxDurationMs),
};

/** Envoy measures it on HTTP/3 (QUIC) only, which this proxy does not speak: "-" on HTTP/1, HTTP/2 and TCP, as Envoy writes it there. */
const ROUNDTRIP_DURATION: Getter = () => undefined;

const SIMPLE: Record<string, Getter> = {
  PROTOCOL: (r) => r.protocol,
  RESPONSE_CODE: (r) => r.responseCode ?? 0,
  RESPONSE_FLAGS: (r) => r.responseFlags || '-',
  RESPONSE_CODE_DETAILS: (r) => r.responseCodeDetails,
  CONNECTION_TERMINATION_DETAILS: (r) => r.connectionTerminationDetails,
  UPSTREAM_TRANSPORT_FAILURE_REASON: (r) => r.upstreamTransportFailureReason,
  BYTES_RECEIVED: (r) => r.bytesReceived ?? 0,
  BYTES_SENT: (r) => r.bytesSent ?? 0,
  // Whole milliseconds, truncated as Envoy's duration_cast<milliseconds> does.
  DURATION: (r) => wholeMs(r.durationMs),
  UPSTREAM_REQUEST_ATTEMPT_COUNT: (r) => r.details?.upstreamRequestAttemptCount ?? 0,
  UPSTREAM_HOST: (r) => r.upstreamHost,
  UPSTREAM_CLUSTER: (r) => r.upstreamCluster,
  // Istio's default formats name this one (Envoy's %UPSTREAM_CLUSTER% would print an alt_stat_name).
  UPSTREAM_CLUSTER_RAW: (r) => r.upstreamCluster,
  UPSTREAM_LOCAL_ADDRESS: (r) => r.upstreamLocalAddress,
  UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: (r) => withoutPort(r.upstreamLocalAddress),
  UPSTREAM_LOCAL_PORT: (r) => portOf(r.upstreamLocalAddress),
  UPSTREAM_REMOTE_ADDRESS: (r) => upstreamRemote(r),
  UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (r) => withoutPort(upstreamRemote(r)),
  UPSTREAM_REMOTE_PORT: (r) => portOf(upstreamRemote(r)),
  UPSTREAM_PROTOCOL: (r) => r.details?.upstreamProtocol,
  DOWNSTREAM_LOCAL_ADDRESS: (r) => r.downstreamLocalAddress,
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: (r) => withoutPort(r.downstreamLocalAddress),
  DOWNSTREAM_LOCAL_PORT: (r) => portOf(r.downstreamLocalAddress),
  DOWNSTREAM_REMOTE_ADDRESS: (r) => r.downstreamRemoteAddress,
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (r) => withoutPort(r.downstreamRemoteAddress),
  DOWNSTREAM_REMOTE_PORT: (r) => portOf(r.downstreamRemoteAddress),
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: (r) => r.downstreamDirectRemoteAddress,
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT: (r) => withoutPort(r.downstreamDirectRemoteAddress),
  DOWNSTREAM_DIRECT_REMOTE_PORT: (r) => portOf(r.downstreamDirectRemoteAddress),
  REQUESTED_SERVER_NAME: (r) => r.requestedServerName,
  ROUTE_NAME: (r) => r.routeName,
  DOWNSTREAM_PEER_URI_SAN: (r) => r.downstreamPeerPrincipal,
  DOWNSTREAM_TLS_VERSION: (r) => r.details?.downstreamTlsVersion,
  DOWNSTREAM_TLS_CIPHER: (r) => r.details?.downstreamTlsCipher,
  TRACE_ID: (r) => r.traceId,
  ROUNDTRIP_DURATION,
  CONNECTION_ID: (r) => r.details?.connectionId,
  // Read when the format is compiled, as Envoy reads it once.
  HOSTNAME: constant(hostname()),
};

function constant(value: string): Getter {
  return () => value;
}

/** The upstream connection's peer: the chosen host once a connection to it was made (Envoy sets it when the pool hands one over). */
function upstreamRemote(r: TemplateRecord): string | undefined {
  return r.upstreamLocalAddress === undefined ? undefined : r.upstreamHost;
}

/** The port of "ip:port" or "[ip6]:port", a number in JSON as Envoy renders it. */
function portOf(address: string | undefined): number | undefined {
  if (address === undefined) return undefined;
  const colon = address.lastIndexOf(':');
  if (colon < 0 || (!address.startsWith('[') && address.indexOf(':') !== colon)) return undefined;
  const port = Number(address.slice(colon + 1));
  return Number.isInteger(port) ? port : undefined;
}

/** The record keeps "" for some values it does not know (no SNI, no route name): Envoy prints those as unknown. */
function unsetWhenEmpty(get: Getter): Getter {
  return (r, headers) => {
    const v = get(r, headers);
    return v === '' ? undefined : v;
  };
}

function withoutPort(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  if (address.startsWith('[')) return address.slice(1, address.indexOf(']'));
  const colon = address.lastIndexOf(':');
  // An IPv6 address without brackets has several colons and no port.
  return colon > 0 && address.indexOf(':') === colon ? address.slice(0, colon) : address;
}

function requestHeader(name: string, reads: AccessLogReads): Getter {
  switch (name) {
    case ':method':
      return (r) => r.method || undefined;
    case ':path':
      // As sent upstream: Envoy's router rewrites :path in place. A TCP record has none.
      reads.details = true;
      return (r) => r.details?.requestPath;
    case 'x-envoy-original-path':
      // Set upstream by a rewrite; a request not routed yet has only what the client sent.
      reads.details = true;
      return (r, headers) => r.details?.originalPath ?? headerIn(headers, name);
    case ':authority':
    case 'host':
      return (r) => r.authority || undefined;
    case 'user-agent':
      return (r, headers) => r.userAgent ?? headerIn(headers, name);
    case 'x-forwarded-for':
      return (r, headers) => r.xForwardedFor ?? headerIn(headers, name);
    case 'x-request-id':
      return (r, headers) => r.requestId ?? headerIn(headers, name);
    default:
      if (name.startsWith(':')) throw new AccessLogFormatError(`%REQ(${name})%: unknown pseudo-header`);
      return (_r, headers) => headerIn(headers, name);
  }
}

function headerIn(headers: readonly string[] | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** %START_TIME% as Envoy prints it by default (ISO 8601, ms, UTC), or by a strftime subset. */
function startTime(spec: string | undefined): Getter {
  if (spec === undefined || spec === '') return (r) => (r.startTimeMs === undefined ? undefined : new Date(r.startTimeMs).toISOString());
  const pieces: Array<string | ((d: Date, ms: number) => string)> = [];
  for (let i = 0; i < spec.length; i++) {
    if (spec[i] !== '%') {
      pieces.push(spec[i]!);
      continue;
    }
    const rest = spec.slice(i + 1);
    const frac = /^(\d)?f/.exec(rest);
    if (frac) {
      const digits = Number(frac[1] ?? 9);
      pieces.push((_d, ms) => pad(Math.floor(ms % 1000), 3).concat('000000').slice(0, digits));
      i += frac[0].length;
      continue;
    }
    const c = rest[0];
    i++;
    switch (c) {
      case 'Y': pieces.push((d) => String(d.getUTCFullYear())); break;
      case 'm': pieces.push((d) => pad(d.getUTCMonth() + 1, 2)); break;
      case 'd': pieces.push((d) => pad(d.getUTCDate(), 2)); break;
      case 'H': pieces.push((d) => pad(d.getUTCHours(), 2)); break;
      case 'M': pieces.push((d) => pad(d.getUTCMinutes(), 2)); break;
      case 'S': pieces.push((d) => pad(d.getUTCSeconds(), 2)); break;
      case 's': pieces.push((_d, ms) => String(Math.floor(ms / 1000))); break;
      case 'z': pieces.push(() => '+0000'); break;
      case '%': pieces.push('%'); break;
      default:
        throw new AccessLogFormatError(`%START_TIME(${spec})%: %${c ?? ''} is not a supported time field`);
    }
  }
  return (r) => {
    if (r.startTimeMs === undefined) return undefined;
    const d = new Date(r.startTimeMs);
    let s = '';
    for (const p of pieces) s += typeof p === 'string' ? p : p(d, r.startTimeMs);
    return s;
  };
}
