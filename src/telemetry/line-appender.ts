/**
 * Appends the pieces of one log line straight into a writer's batch buffer: constant JSON text as
 * pre-encoded bytes, values byte by byte. Building the same line as a string took ~60 concatenations,
 * then a flatten and a copy into the batch; on the proxy's hot path that was the access log's cost.
 */
export interface LineAppender {
  /** Pre-encoded constant text (see `constantText`). */
  text(bytes: Uint8Array): void;
  /** Plain ASCII produced by the caller (a timestamp, a number's digits). */
  ascii(s: string): void;
  /** A JSON string literal, written as jsonString() would spell it. */
  json(s: string): void;
  /** A JSON string literal, or null when absent or empty (as jsonStringOrNull). */
  jsonOrNull(s: string | undefined): void;
  /** A JSON number, or null when absent, negative or not finite (as jsonNumberOrNull). */
  numberOrNull(n: number | undefined): void;
  /** Whole milliseconds, or null (as jsonMillisOrNull). */
  millisOrNull(ms: number | undefined): void;
}

/** Constant JSON text as the bytes an appender copies. */
export function constantText(s: string): Uint8Array {
  return Buffer.from(s, 'latin1');
}
