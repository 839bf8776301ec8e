import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeHttpAccessLog, formatHttpAccessLog, formatTcpAccessLog, type HttpAccessLogRecord } from '../../src/telemetry/access-log-format.js';
import { AccessLogger } from '../../src/telemetry/access-log.js';
import { BufferedLineWriter } from '../../src/telemetry/buffered-line-writer.js';
import type { ChunkSink } from '../../src/telemetry/chunk-sink.js';
import { formatTimestamp } from '../../src/telemetry/log-timestamp.js';
import { ResponseCodeDetails, ResponseFlag } from '../../src/telemetry/response-flags.js';

const HTTP_FIELDS = [
  'start_time', 'method', 'path', 'protocol', 'response_code', 'response_flags', 'response_code_details',
  'connection_termination_details', 'upstream_transport_failure_reason', 'bytes_received', 'bytes_sent', 'duration',
  'upstream_service_time', 'x_forwarded_for', 'user_agent', 'request_id', 'authority', 'upstream_host', 'upstream_cluster',
  'upstream_local_address', 'downstream_local_address', 'downstream_remote_address', 'requested_server_name', 'route_name',
  'downstream_peer_principal', 'traceparent', 'trace_id',
];

const served: HttpAccessLogRecord = {
  startTimeMs: Date.UTC(2026, 10, 25, 1, 52, 12, 7),
  method: 'GET',
  path: '/productpage?u=normal',
  protocol: 'HTTP/1.1',
  responseCode: 200,
  responseFlags: ResponseFlag.none,
  responseCodeDetails: ResponseCodeDetails.viaUpstream,
  bytesReceived: 0,
  bytesSent: 5293,
  durationMs: 12,
  upstreamServiceTimeMs: 11,
  xForwardedFor: '203.0.113.9',
  userAgent: 'curl/8.4.0',
  requestId: 'c2a6b6a4-0f8e-4c38-9d43-3d8b0c8f0a11',
  authority: 'bookinfo.example.com',
  upstreamHost: '10.1.2.3:9080',
  upstreamCluster: 'productpage',
  downstreamRemoteAddress: '203.0.113.9:53422',
  routeName: 'default',
  downstreamPeerPrincipal: 'spiffe://cluster.local/ns/default/sa/gateway',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
};

/** A sink that records batches and completes each write after `delayMs` (0: at once), or fails. */
class FakeSink implements ChunkSink {
  batches: string[] = [];
  raw: Buffer[] = [];
  closed = false;
  constructor(
    private readonly delayMs = 0,
    private readonly failWith?: NodeJS.ErrnoException,
  ) {}
  write(data: Buffer, done: (err: Error | null) => void): void {
    if (this.failWith) {
      setImmediate(() => done(this.failWith!));
      return;
    }
    this.batches.push(data.toString('utf8'));
    this.raw.push(Buffer.from(data));
    if (this.delayMs === 0) setImmediate(() => done(null));
    else setTimeout(() => done(null), this.delayMs);
  }
  close(): void {
    this.closed = true;
  }
  get lines(): string[] {
    return this.batches.join('').split('\n').filter((l) => l !== '');
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('access log lines', () => {
  test('an HTTP line is one JSON object with Istio access log keys, in order', () => {
    const line = formatHttpAccessLog(served);
    assert.ok(!line.includes('\n'));
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), HTTP_FIELDS);
    assert.equal(parsed['start_time'], '2026-11-25T01:52:12.007Z');
    assert.equal(parsed['response_code'], 200);
    assert.equal(parsed['response_flags'], '-');
    assert.equal(parsed['bytes_sent'], 5293);
    assert.equal(parsed['upstream_service_time'], 11);
    assert.equal(JSON.parse(formatHttpAccessLog({ ...served, durationMs: 12.97 }))['duration'], 12, 'whole milliseconds, truncated as Envoy does');
    assert.equal(parsed['downstream_peer_principal'], 'spiffe://cluster.local/ns/default/sa/gateway');
  });

  test('a 503 line says why in response_code_details and response_flags; absent values are null', () => {
    const parsed = JSON.parse(
      formatHttpAccessLog({
        ...served,
        responseCode: 503,
        responseFlags: ResponseFlag.upstreamConnectionFailure,
        responseCodeDetails: `${ResponseCodeDetails.upstreamResetBeforeResponse}{remote_connection_failure|delayed_connect_error:_Connection_refused}`,
        upstreamServiceTimeMs: -1,
        upstreamHost: undefined,
        userAgent: '',
      }),
    ) as Record<string, unknown>;
    assert.equal(parsed['response_code'], 503);
    assert.equal(parsed['response_flags'], 'UF');
    assert.equal(parsed['response_code_details'], 'upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}');
    assert.equal(parsed['upstream_service_time'], null);
    assert.equal(parsed['upstream_host'], null);
    assert.equal(parsed['user_agent'], null);
  });

  test('quotes, backslashes and control characters in client-sent values are escaped', () => {
    const nasty = 'a"b\\c\u0001\td\u2028é😀';
    const line = formatHttpAccessLog({ ...served, path: '/x?q=' + nasty, userAgent: nasty, xForwardedFor: '"}' });
    // Lines are written one byte per character; a reader decodes the file as UTF-8.
    const parsed = JSON.parse(Buffer.from(line, 'latin1').toString('utf8')) as Record<string, unknown>;
    assert.equal(parsed['path'], '/x?q=' + nasty);
    assert.equal(parsed['user_agent'], nasty);
    assert.equal(parsed['x_forwarded_for'], '"}');
  });

  test('wire bytes that are not UTF-8 are escaped, so every line stays valid UTF-8; UTF-8 ones are kept', () => {
    // Header values and paths are wire bytes, one Latin-1 character each.
    const notUtf8 = 'caf\u00e9 \u00ff';
    const utf8 = Buffer.from('café ☃', 'utf8').toString('latin1');
    const line = formatHttpAccessLog({ ...served, path: '/p/' + notUtf8, userAgent: utf8 });
    const bytes = Buffer.from(line, 'latin1');
    assert.ok(isUtf8(bytes), 'the line is valid UTF-8');
    const parsed = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    assert.equal(parsed['path'], '/p/café ÿ', 'each stray byte reads as its Latin-1 character');
    assert.equal(parsed['user_agent'], 'café ☃', 'valid UTF-8 is written as it came');
  });

  test('a TCP line carries bytes, duration, flags and peers', () => {
    const parsed = JSON.parse(
      formatTcpAccessLog({ startTimeMs: served.startTimeMs, responseFlags: 'UF', bytesReceived: 10, bytesSent: 0, durationMs: 5, upstreamCluster: 'db', downstreamRemoteAddress: '10.0.0.1:4000' }),
    ) as Record<string, unknown>;
    assert.equal(parsed['protocol'], 'TCP');
    assert.equal(parsed['response_flags'], 'UF');
    assert.equal(parsed['bytes_received'], 10);
    assert.equal(parsed['upstream_cluster'], 'db');
    assert.equal(parsed['upstream_host'], null);
  });

  test('timestamps match toISOString across seconds and millisecond widths', () => {
    const base = Date.UTC(2026, 0, 1, 23, 59, 59, 0);
    for (const t of [base, base + 5, base + 42, base + 999, base + 1000, base + 1001, base + 86_400_000 + 123, base + 7]) {
      assert.equal(formatTimestamp(t), new Date(t).toISOString());
    }
  });
});

describe('access log bytes', () => {
  test('wire bytes come back as they arrived, and wide characters are written as UTF-8', async () => {
    const sink = new FakeSink();
    const writer = new BufferedLineWriter(sink, { flushIntervalMs: 1 });
    // A path whose UTF-8 bytes the parser decoded one byte per character (Latin-1).
    const wirePath = Buffer.from('/café', 'utf8').toString('latin1');
    writer.write(formatHttpAccessLog({ ...served, path: wirePath, downstreamPeerPrincipal: 'spiffe://td/ns/☃/sa/x' }));
    await writer.close();
    const line = JSON.parse(sink.raw[0]!.toString('utf8')) as Record<string, unknown>;
    assert.equal(line.path, '/café');
    assert.equal(line.downstream_peer_principal, 'spiffe://td/ns/☃/sa/x');
  });
});

describe('buffered line writer', () => {
  test('lines are batched and written together after the flush interval', async () => {
    const sink = new FakeSink();
    const writer = new BufferedLineWriter(sink, { flushIntervalMs: 20 });
    writer.write('a');
    writer.write('b');
    writer.write('c');
    assert.equal(sink.batches.length, 0, 'nothing is written synchronously');
    await sleep(60);
    assert.deepEqual(sink.batches, ['a\nb\nc\n']);
  });

  test('a batch reaching the size threshold is written without waiting for the timer', () => {
    const sink = new FakeSink();
    const writer = new BufferedLineWriter(sink, { flushIntervalMs: 60_000, flushBytes: 10 });
    writer.write('12345');
    assert.equal(sink.batches.length, 0);
    writer.write('67890');
    assert.deepEqual(sink.batches, ['12345\n67890\n']);
  });

  test('a slow sink bounds the buffer: lines over the limit are dropped and counted, the rest arrive in order', async () => {
    const sink = new FakeSink(30);
    let reported = 0;
    const writer = new BufferedLineWriter(sink, { flushIntervalMs: 1, flushBytes: 100, maxBufferedBytes: 1000, onDrop: (n) => (reported += n) });
    const started = performance.now();
    let accepted = 0;
    for (let i = 0; i < 1000; i++) if (writer.write(String(i).padStart(9, '0'))) accepted++;
    assert.ok(performance.now() - started < 200, 'writing never waits for the sink');
    assert.ok(writer.bufferedBytes <= 1000);
    assert.equal(writer.droppedLines, 1000 - accepted);
    assert.equal(reported, writer.droppedLines);
    assert.ok(accepted >= 90 && accepted <= 100, `accepted ${accepted}`);
    await writer.close();
    assert.equal(sink.lines.length, accepted);
    assert.deepEqual(sink.lines, [...sink.lines].sort(), 'order is kept');
    assert.ok(sink.closed);
  });

  test('a failed sink (EPIPE) makes later lines drop and count, without throwing', async () => {
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    const writer = new BufferedLineWriter(new FakeSink(0, epipe), { flushIntervalMs: 1 });
    writer.write('first');
    writer.flush();
    await sleep(10);
    assert.equal((writer.error as NodeJS.ErrnoException | undefined)?.code, 'EPIPE');
    assert.equal(writer.write('second'), false);
    assert.equal(writer.droppedLines, 2);
    await writer.close();
  });

  test('close() flushes what is waiting, and later lines are dropped', async () => {
    const sink = new FakeSink();
    const writer = new BufferedLineWriter(sink, { flushIntervalMs: 60_000 });
    writer.write('last words');
    await writer.close();
    assert.deepEqual(sink.lines, ['last words']);
    assert.equal(writer.write('too late'), false);
  });
});

describe('access logger sinks', () => {
  test('lines written to a file are valid JSON, one per line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-access-log-'));
    try {
      const path = join(dir, 'access.log');
      const logger = AccessLogger.open(path);
      for (let i = 0; i < 100; i++) logger.logHttp({ ...served, path: `/item/${i}` });
      logger.logTcp({ startTimeMs: Date.now(), responseFlags: '-', bytesReceived: 1, bytesSent: 2, durationMs: 3 });
      await logger.close();
      const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
      assert.equal(lines.length, 101);
      const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(parsed[42]!['path'], '/item/42');
      assert.equal(parsed[100]!['protocol'], 'TCP');
      assert.equal(logger.droppedLines, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const fixture = fileURLToPath(new URL('./fixtures/access-log-to-stdout.ts', import.meta.url));

  function runChild(lines: number, onStdout: (stdout: NodeJS.ReadableStream & { destroy(): void }) => void): Promise<{ code: number | null; report: { dropped: number; error: string | null; worstLagMs: number } }> {
    const child = spawn(process.execPath, [...process.execArgv, fixture, String(lines)], { stdio: ['ignore', 'pipe', 'pipe'] });
    onStdout(child.stdout);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        const last = stderr.trim().split('\n').pop() ?? '';
        try {
          resolve({ code, report: JSON.parse(last) });
        } catch {
          reject(new Error(`child said: ${stderr}`));
        }
      });
    });
  }

  test('a closed stdout (EPIPE) does not crash the process; lines are dropped and counted', async () => {
    const { code, report } = await runChild(5000, (stdout) => stdout.destroy());
    assert.equal(code, 0);
    assert.equal(report.error, 'EPIPE');
    assert.ok(report.dropped > 0);
  });

  test('a stdout nobody reads does not block the event loop; the buffer stays bounded', async () => {
    // 20000 lines of ~600 bytes are far more than a pipe holds; the child never blocks on them.
    const { code, report } = await runChild(20000, () => {});
    assert.equal(code, 0);
    assert.ok(report.dropped > 10000, `dropped ${report.dropped}`);
    assert.ok(report.worstLagMs < 250, `worst event-loop lag ${report.worstLagMs} ms`);
  });
});

test('the data path encodes each HTTP line byte for byte as formatHttpAccessLog spells it', async () => {
  const chunks: Buffer[] = [];
  const sink: ChunkSink = { write: (d, done) => { chunks.push(Buffer.from(d)); setImmediate(done, null); }, close: () => {} };
  const writer = new BufferedLineWriter(sink, { flushIntervalMs: 1 });
  const records: HttpAccessLogRecord[] = [
    served,
    // Ids the proxy made are written without the escape check, with the same bytes.
    { ...served, requestIdIsPlain: true, traceparentIsPlain: true },
    { ...served, requestIdIsPlain: true, traceparentIsPlain: true, requestId: '', traceparent: undefined },
    { ...served, path: '/x?q="quoted"\\back\u0001ctl', userAgent: 'ünïcode ☃ 🚀', xForwardedFor: undefined, requestId: '' },
    // Wire bytes: short and long, valid UTF-8 and not.
    { ...served, path: '/caf\u00e9', userAgent: Buffer.from('agent ☃ '.repeat(5), 'utf8').toString('latin1'), xForwardedFor: '\u00ff' },
    { ...served, responseCode: 0, upstreamServiceTimeMs: -1, durationMs: Infinity, traceparent: undefined, method: 'PURGE', path: '/' + 'p'.repeat(70_000) },
  ];
  const expected = records.map((r) => formatHttpAccessLog(r) + '\n').join('');
  for (const r of records) assert.ok(writer.writeEncoded(encodeHttpAccessLog, r));
  await writer.close();
  assert.equal(Buffer.concat(chunks).toString('latin1'), expected);
});
