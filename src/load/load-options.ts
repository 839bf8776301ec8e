import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { parseDuration } from '../config/duration-text.js';
import { DNS_METHODS, type DnsMethod, type DnsOptions } from './fortio-dns.js';
import { FORTIO_FLAGS_NOT_IMPLEMENTED } from './fortio-flags-not-implemented.js';
import { parseReuseRange, ReuseRangeError, type ReuseRange } from './connection-reuse.js';
import type { HistogramLayout } from './latency-recorder.js';
import type { ScheduleOptions } from './load-schedule.js';
import { payload } from './load-target.js';
import type { SocketEchoTarget } from './socket-echo-destination.js';

/** A load run as the user asked for it (Fortio's flags), validated once at the edge. */
export interface LoadOptions {
  url: URL;
  /** Target requests per second over all connections; 0 = as fast as possible. */
  qps: number;
  connections: number;
  /** Total calls, or 0 to run for `durationMs`. */
  calls: number;
  /** 0 with `calls` 0: run until interrupted (Fortio's -t 0). */
  durationMs: number;
  /**
   * With -n at a fixed rate, whether each loop spreads its calls to the end of a duration, as
   * Fortio does unless -t 0 is given (it keeps -t, 5s by default, as its "hasDuration").
   */
  spreadCalls: boolean;
  headers: Array<[string, string]>;
  /** The request body (-payload, -payload-file or -payload-size); empty for none. */
  payload: Buffer;
  contentType: string | undefined;
  method: string;
  /** -X as given, if it was (Fortio's MethodOverride). */
  methodOverride: string | undefined;
  /** -labels, or Fortio's default: the target without its scheme, " , " and this host's short name. */
  labels: string;
  /** -runid: echoed in the JSON and the -a file name. */
  runId: number;
  /** -a: save the JSON in dataDir under Fortio's run ID when no -json file is given. */
  autoSave: boolean;
  /** -data-dir (default "."). */
  dataDir: string;
  percentiles: number[];
  jsonFile: string | undefined;
  csvFile: string | undefined;
  http2: boolean;
  /** -http1.0: HTTP/1.0 requests (no Host header unless one is given), a connection per call. */
  http10: boolean;
  /**
   * Fortio's fast HTTP/1.x client (the default) rather than its standard one (-stdclient, and -h2,
   * for which Fortio switches to it). They differ in what they record: the fast client sizes a call
   * by its whole response, the standard one by its body; and the fast client closes its connection
   * after a response that is not OK.
   */
  fastClient: boolean;
  /** -L: follow redirects (HTTP/1.x), as Fortio's standard client, which -L switches to. */
  followRedirects: boolean;
  /** -log-errors (default on, off with -quiet or -loglevel Error): print each non-OK status as it comes. */
  logErrors: boolean;
  /** -sequential-warmup: the warm-up calls of a timed run one connection after another, not all at once. */
  sequentialWarmup: boolean;
  /** -allow-initial-errors: a failed warm-up call does not abort the run. */
  allowInitialErrors: boolean;
  insecure: boolean;
  /** -resolve: the IP address HTTP connections go to instead of the URL's host (Host and SNI stay the URL's). */
  resolve: string | undefined;
  /** -unix-socket: the Unix socket HTTP/1.x connections go to instead of the URL's host and port (the Host header stays the URL's). */
  unixSocket: string | undefined;
  /** -user: the user name of the basic authentication the headers carry (the password is not kept). */
  user: string | undefined;
  caFile: string | undefined;
  certFile: string | undefined;
  keyFile: string | undefined;
  sni: string | undefined;
  newConnection: boolean;
  /** -compression: ask for gzip and read a gzip body decompressed (Fortio's standard client only). */
  compression: boolean;
  /** -halfclose: with a connection per call, shut the sending side once the request is sent (Fortio's fast client, plain TCP). */
  halfClose: boolean;
  /** -connection-reuse min:max: the calls a connection carries before it closes, drawn in that range ([0, 0]: unlimited; Fortio's fast client). */
  connectionReuse: ReuseRange;
  resume: boolean;
  timeoutMs: number;
  /** Processes the load runs in (-workers, or -gomaxprocs, which sets them as Fortio's sets its CPUs). */
  workers: number;
  /** The processes before -gomaxprocs changed them (Fortio's banner: "before->after procs"). */
  workersBefore: number;
  quiet: boolean;
  /** -r and -offset: the duration histograms' bucket width and shift, in seconds. */
  histogram: HistogramLayout;
  /** -access-log-file and -access-log-format: a line per call appended to that file, in Fortio's json or influx format. */
  accessLog: { path: string; format: string } | undefined;
  /** -abort-on: the HTTP status (-1: socket error) whose first response ends the run; 0 for none. */
  abortOn: number;
  /** -uniform, -jitter, -nocatchup: how the loops keep a fixed rate. */
  schedule: ScheduleOptions;
  /** -grpc: Fortio's gRPC load instead of HTTP; undefined for HTTP. */
  grpc: GrpcLoadOptions | undefined;
  /** A tcp:// or udp:// target: Fortio's echo load over a plain socket (the -payload echoed); undefined otherwise. */
  socketEcho: SocketEchoTarget | undefined;
  /** -curl (and `bulwark curl`): one call, its response printed, as Fortio's curl mode. */
  curl: boolean;
  /** -curl-stdout-headers: the fast client's response head goes to stdout with the body, not to stderr. */
  curlHeadersToStdout: boolean;
  /** -stream: the request body is stdin, streamed (curl mode; Fortio switches to its HTTP/2 standard client for it). */
  streamPayload: boolean;
  /** -httpbufferkb: the fast client's response buffer, in KiB (Fortio's default 128): what does not fit is not read. */
  httpBufferKb: number;
  /** -httpccch: the fast client reads a "Connection: close" response to the close and does not reuse its connection. */
  checkConnectionClosedHeader: boolean;
  /** -resolve-ip-type, -dns-method, -no-reresolve: how the fast client and tcp:// and udp:// runs resolve a name. */
  dns: DnsOptions;
}

export interface GrpcLoadOptions {
  /** The target as given (Fortio's Destination); `url` holds it resolved. */
  destination: string;
  /** -ping: fgrpc.PingServer/Ping instead of grpc.health.v1.Health/Check. */
  ping: boolean;
  /** -s: calls in flight per connection (Fortio's streams), each its own loop. */
  streams: number;
  /** -healthservice: the service name the health check asks about. */
  healthService: string;
  /** -grpc-ping-delay: the delay the ping asks the server for. */
  pingDelayMs: number;
  /** -grpc-method "Service/Method": a unary method resolved by server reflection, called with the -payload JSON ('' for none; -ping takes precedence). */
  method: string;
}

export class LoadUsageError extends Error {}

const FLAGS_WITH_VALUE = new Set(['qps', 'c', 'n', 't', 'H', 'resolve', 'user', 'payload', 'payload-file', 'payload-size', 'content-type', 'labels', 'p', 'json', 'csv', 'cacert', 'cert', 'key', 'sni', 'timeout', 'workers', 'X', 'loglevel', 's', 'healthservice', 'grpc-ping-delay', 'abort-on', 'r', 'offset', 'runid', 'data-dir', 'unix-socket', 'connection-reuse', 'access-log-file', 'access-log-format', 'udp-timeout', 'httpbufferkb', 'resolve-ip-type', 'dns-method', 'gomaxprocs', 'grpc-method']);
const BOOLEAN_FLAGS = new Set(['h2', 'k', 'https-insecure', 'calc-qps', 'new-conn', 'resume', 'quiet', 'keepalive', 'allow-initial-errors', 'grpc', 'ping', 'uniform', 'jitter', 'nocatchup', 'http1.0', 'stdclient', 'log-errors', 'sequential-warmup', 'a', 'L', 'halfclose', 'compression', 'curl', 'curl-stdout-headers', 'stream', 'httpccch', 'no-reresolve']);
/** The spellings Go's strconv.ParseBool takes, as in `-keepalive=false` or `-k=1`. */
const GO_BOOLS: Record<string, boolean> = { '1': true, t: true, T: true, true: true, TRUE: true, True: true, '0': false, f: false, F: false, false: false, FALSE: false, False: false };
const LOG_LEVELS = new Set(['debug', 'verbose', 'info', 'warning', 'error', 'critical', 'fatal']);

/** A Go duration as Fortio's flags take it: "0", "10s", "1m30s", "1.5h", "250ms"; undefined when invalid. */
function goDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const parts = text.match(/\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h)/g);
  if (!parts || parts.join('') !== text) return undefined;
  return parts.reduce((ms, part) => ms + parseDuration(part)!, 0);
}

/** Parses Fortio-style flags: `-qps 100`, `--qps=100`, repeated `-H "name: value"`, then the URL. */
export function parseLoadArgs(args: string[]): LoadOptions {
  const values = new Map<string, string[]>();
  const flags = new Map<string, boolean>();
  let url: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      if (url !== undefined) throw new LoadUsageError(`unexpected argument "${arg}" (the URL is already ${url})`);
      url = arg;
      continue;
    }
    let name = arg.replace(/^--?/, '');
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) [name, value] = [name.slice(0, eq), name.slice(eq + 1)];
    if (BOOLEAN_FLAGS.has(name)) {
      const on = value === undefined ? true : GO_BOOLS[value];
      if (on === undefined) throw new LoadUsageError(`-${name} takes true or false, got "${value}"`);
      flags.set(name, on);
      continue;
    }
    if (FORTIO_FLAGS_NOT_IMPLEMENTED.has(name)) throw new LoadUsageError(`-${name} is a flag of fortio that bulwark load does not implement`);
    // Go's flag package's words, which a script written against Fortio may look for.
    if (!FLAGS_WITH_VALUE.has(name)) throw new LoadUsageError(`flag provided but not defined: -${name}`);
    if (value === undefined) {
      value = args[++i];
      if (value === undefined) throw new LoadUsageError(`-${name} needs a value`);
    }
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  if (url === undefined) throw new LoadUsageError(flags.get('grpc') ? 'a HOST:PORT is required' : 'a URL is required');
  const one = (n: string): string | undefined => values.get(n)?.at(-1);
  const grpc = flags.get('grpc') === true;
  // As Fortio: -grpc first, then a destination that starts with tcp:// or udp://, else HTTP.
  const socketProtocol = grpc ? undefined : (['tcp', 'udp'] as const).find((p) => url!.startsWith(`${p}://`));
  let parsed: URL;
  try {
    // As Fortio (URLSchemeCheck, after curl): a target without a scheme is http://, "localhost:8080/echo" too.
    parsed = grpc ? grpcUrl(url, one('cacert') !== undefined) : new URL(/^[a-z][a-z\d+.-]*:\/\//i.test(url) ? url : `http://${url}`);
  } catch {
    throw new LoadUsageError(grpc ? `invalid destination "${url}" (HOST:PORT or a URL)` : `invalid URL "${url}"`);
  }
  if (socketProtocol === undefined && parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new LoadUsageError(`unsupported scheme ${parsed.protocol} (http, https, tcp or udp)`);
  const num = (n: string, dflt: number, min: number, max: number): number => {
    const raw = one(n);
    if (raw === undefined) return dflt;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < min || v > max) throw new LoadUsageError(`-${n} must be a number from ${min} to ${max}, got "${raw}"`);
    return v;
  };
  const integer = (n: string, dflt: number, min: number, max: number): number => {
    const v = num(n, dflt, min, max);
    if (!Number.isInteger(v)) throw new LoadUsageError(`-${n} must be a whole number, got "${one(n)}"`);
    return v;
  };
  const duration = (n: string, dflt: number): number => {
    const raw = one(n);
    if (raw === undefined) return dflt;
    const ms = goDuration(raw);
    if (ms === undefined) throw new LoadUsageError(`-${n} must be a duration like 5s, 1m30s or 500ms, got "${raw}"`);
    return ms;
  };
  const signedDuration = (n: string): number => {
    const raw = one(n);
    if (raw === undefined) return 0;
    const ms = goDuration(raw.replace(/^-/, ''));
    if (ms === undefined) throw new LoadUsageError(`-${n} must be a duration like 1ms or -500us, got "${raw}"`);
    return raw.startsWith('-') ? -ms : ms;
  };
  const given: Array<[string, string]> = (values.get('H') ?? []).map((h) => {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new LoadUsageError(`-H wants "name: value", got "${h}"`);
    return [h.slice(0, colon).trim().toLowerCase(), h.slice(colon + 1).trim()];
  });
  // Fortio's -user "user:password": a basic authorization header, in place of any given with -H.
  const user = one('user');
  if (user !== undefined && !user.includes(':')) throw new LoadUsageError(`-user wants "user:password", got "${user}"`);
  const headers: Array<[string, string]> = user === undefined ? given : [...given.filter(([name]) => name !== 'authorization'), ['authorization', `Basic ${Buffer.from(user).toString('base64')}`]];
  const resolve = one('resolve');
  if (resolve !== undefined && isIP(resolve) === 0) throw new LoadUsageError(`-resolve wants an IP address, got "${resolve}"`);
  const percentiles = (one('p') ?? '50,75,90,99,99.9').split(',').map((p) => {
    const v = Number(p.trim());
    if (!Number.isFinite(v) || v <= 0 || v > 100) throw new LoadUsageError(`-p wants percentiles in (0, 100], got "${p}"`);
    return v;
  });
  const calls = num('n', 0, 0, 1e12);
  // Fortio's -calc-qps: the rate that spreads the -n calls over the -t duration.
  if (flags.get('calc-qps') && (calls === 0 || !(duration('t', 0) > 0))) throw new LoadUsageError("can't use -calc-qps without also specifying -n and -t");
  const payloadFile = one('payload-file');
  let body: Buffer;
  try {
    body = payloadFile !== undefined ? readFileSync(payloadFile) : one('payload') !== undefined ? Buffer.from(one('payload')!) : payload(Math.floor(num('payload-size', 0, 0, 64 * 1024 * 1024)));
  } catch (err) {
    throw new LoadUsageError(`-payload-file: ${(err as Error).message}`);
  }
  const contentType = one('content-type');
  const resolution = num('r', 0.001, -Infinity, 3600);
  const loglevel = one('loglevel');
  if (loglevel !== undefined && !LOG_LEVELS.has(loglevel.toLowerCase())) throw new LoadUsageError(`-loglevel must be one of Debug, Verbose, Info, Warning, Error, Critical, Fatal, got "${loglevel}"`);
  // Fortio's -gomaxprocs sets the CPUs its goroutines run on (runtime.GOMAXPROCS; < 1 leaves them),
  // which its banner and "[gomax N]" report. A Node.js process runs its calls on one thread, so the
  // CPUs a run uses are its processes: -gomaxprocs sets those, as -workers does, and takes precedence.
  const workersFlag = Math.floor(num('workers', 1, 1, 256));
  const gomaxprocs = integer('gomaxprocs', 0, -Number.MAX_SAFE_INTEGER, 256);
  const dnsMethod = one('dns-method') ?? 'cached-rr';
  // Fortio's dflag validator, in Go's flag package's words.
  if (!DNS_METHODS.includes(dnsMethod)) throw new LoadUsageError(`invalid value "${dnsMethod}" for flag -dns-method: invalid value for dns method, should be one of cached-rr, first, rnd or rr`);
  const curl = flags.get('curl') === true;
  // Fortio reads stdin for a single call only ("only for fortio curl mode"); a load would send it once.
  const streamPayload = flags.get('stream') === true;
  if (streamPayload && !curl) throw new LoadUsageError('-stream streams stdin as the body of a single call: use it with -curl (or bulwark curl)');
  // As Fortio's URLSchemeCheck: a streamed body switches to HTTP/2, and HTTP/2 to the standard client.
  const http2 = flags.get('h2') === true || streamPayload;
  return {
    url: parsed,
    // Fortio treats any qps <= 0 (-qps -1 in its docs) as "as fast as possible".
    qps: flags.get('calc-qps') ? calls / (duration('t', 0) / 1000) : Math.max(num('qps', 8, -Infinity, 1e7), 0),
    connections: Math.floor(num('c', 4, 1, 10_000)),
    calls: Math.floor(calls),
    durationMs: calls > 0 ? 0 : duration('t', 5000),
    spreadCalls: calls > 0 && duration('t', 5000) > 0,
    headers,
    payload: body,
    contentType,
    // As in Fortio, a body or a content type makes the call a POST.
    method: one('X') ?? (body.length > 0 || contentType !== undefined ? 'POST' : 'GET'),
    methodOverride: one('X'),
    labels: one('labels') || defaultLabels(url),
    runId: integer('runid', 0, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    autoSave: flags.get('a') === true,
    dataDir: one('data-dir') ?? '.',
    percentiles,
    jsonFile: one('json'),
    csvFile: one('csv'),
    http2,
    http10: flags.get('http1.0') === true,
    fastClient: flags.get('stdclient') !== true && !http2 && flags.get('L') !== true,
    followRedirects: flags.get('L') === true,
    // As Fortio's: on by default, silenced where its warnings are (-quiet, -loglevel Error or above).
    logErrors: flags.get('log-errors') !== false && flags.get('quiet') !== true && !['error', 'critical', 'fatal'].includes((loglevel ?? '').toLowerCase()),
    sequentialWarmup: flags.get('sequential-warmup') === true,
    allowInitialErrors: flags.get('allow-initial-errors') === true,
    insecure: flags.get('k') === true || flags.get('https-insecure') === true,
    resolve,
    unixSocket: one('unix-socket') || undefined,
    user: user?.slice(0, user.indexOf(':')),
    caFile: one('cacert'),
    certFile: one('cert'),
    keyFile: one('key'),
    sni: one('sni'),
    // Fortio's -keepalive=false is a new connection per call.
    newConnection: flags.get('new-conn') === true || flags.get('keepalive') === false,
    halfClose: flags.get('halfclose') === true,
    compression: flags.get('compression') === true,
    connectionReuse: reuseRange(one('connection-reuse')),
    resume: flags.get('resume') === true,
    timeoutMs: callTimeout(socketProtocol, duration('timeout', 3000), duration('udp-timeout', 750)),
    workers: gomaxprocs >= 1 ? gomaxprocs : workersFlag,
    workersBefore: workersFlag,
    quiet: flags.get('quiet') === true,
    abortOn: integer('abort-on', 0, -1, 999),
    // Its format is checked as the run opens the file (openAccessLog), as Fortio checks it.
    accessLog: one('access-log-file') ? { path: one('access-log-file')!, format: one('access-log-format') ?? 'json' } : undefined,
    // Fortio: -r 0 or less falls back to its default, a millisecond.
    histogram: { resolution: resolution > 0 ? resolution : 0.001, offset: signedDuration('offset') / 1000 },
    schedule: { uniform: flags.get('uniform') === true, jitter: flags.get('jitter') === true, noCatchUp: flags.get('nocatchup') === true },
    grpc: grpc
      ? { destination: url, ping: flags.get('ping') === true, streams: Math.floor(num('s', 1, 1, 1000)), healthService: one('healthservice') ?? '', pingDelayMs: duration('grpc-ping-delay', 0), method: one('grpc-method') ?? '' }
      : undefined,
    socketEcho: socketProtocol ? { protocol: socketProtocol, destination: url } : undefined,
    curl,
    curlHeadersToStdout: flags.get('curl-stdout-headers') === true,
    streamPayload,
    httpBufferKb: integer('httpbufferkb', 128, 1, 1024 * 1024),
    checkConnectionClosedHeader: flags.get('httpccch') === true,
    // Fortio's defaults: IPv4 only (as its CI's localhost has an IPv6 it cannot reach), cached round robin.
    dns: { ipType: one('resolve-ip-type') ?? 'ip4', method: dnsMethod as DnsMethod, noReresolve: flags.get('no-reresolve') === true },
  };
}

/**
 * A call's timeout: Fortio's -timeout (3s by default), the read deadline of its tcp:// calls too
 * (where 0 means the default); for udp://, -udp-timeout (750ms by default, 0 too).
 */
function callTimeout(socketProtocol: 'tcp' | 'udp' | undefined, timeoutMs: number, udpTimeoutMs: number): number {
  if (socketProtocol === 'udp') return udpTimeoutMs > 0 ? udpTimeoutMs : 750;
  if (socketProtocol === 'tcp') return timeoutMs > 0 ? timeoutMs : 3000;
  return timeoutMs;
}

/** -connection-reuse, refused as Go's flag package refuses a value its flag does not take. */
function reuseRange(text: string | undefined): ReuseRange {
  try {
    return parseReuseRange(text ?? '');
  } catch (err) {
    if (!(err instanceof ReuseRangeError)) throw err;
    throw new LoadUsageError(`invalid value "${text}" for flag -connection-reuse: ${err.message}`);
  }
}

/** Fortio's labels when none are given: "host:port/path , hostname" (the URL as typed, without http(s)://). */
function defaultLabels(target: string): string {
  return `${target.replace(/^https?:\/\//, '')} , ${hostname().split('.')[0]}`;
}

/**
 * A gRPC destination as Fortio takes it: HOST:PORT or a bare HOST (port 8079), TLS when -cacert is
 * given; or an http:// or https:// URL (ports 80 and 443), TLS for https.
 */
function grpcUrl(dest: string, cacert: boolean): URL {
  if (/^https?:\/\//.test(dest)) return new URL(dest);
  const url = new URL(`${cacert ? 'https' : 'http'}://${dest}`);
  if (url.port === '' && !/:\d+$/.test(dest)) url.port = '8079';
  if (url.pathname !== '/' || url.search !== '') throw new Error('a path in a gRPC destination');
  return url;
}
