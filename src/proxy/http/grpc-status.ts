/**
 * gRPC over HTTP/2 as the proxy must speak it (gRPC's PROTOCOL-HTTP2.md): a gRPC client reads the
 * outcome from `grpc-status`, not from `:status`, so a reply the proxy makes itself is a
 * trailers-only response (`:status` 200 and `grpc-status` in the one HEADERS frame), and metrics
 * label requests with the gRPC status the response carried.
 */

/** The request is gRPC: content-type application/grpc, alone or with a +suffix / ;parameters. */
export function isGrpcRequest(headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'content-type') return isGrpcContentType(headers[i + 1]!);
  return false;
}

/** A gRPC content-type: application/grpc, alone or with a +suffix / ;parameters. */
export function isGrpcContentType(v: string): boolean {
  if (!v.startsWith('application/grpc')) return false;
  const next = v.charCodeAt(16);
  // "application/grpc-web" is another protocol; "application/grpc+proto" and ";charset" are gRPC.
  return v.length === 16 || next === 0x2b || next === 0x3b;
}

/** Highest code gRPC defines (UNAUTHENTICATED); others are read as UNKNOWN, as gRPC clients do. */
const MAX_GRPC_STATUS = 16;
export const GRPC_UNKNOWN = 2;
export const GRPC_DEADLINE_EXCEEDED = 4;
export const GRPC_INTERNAL = 13;

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** A grpc-timeout value ("1-8 digits and a unit", e.g. "250m", "3S") in ms; undefined when absent or malformed. */
export function grpcTimeoutMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  return m ? Number(m[1]) * TIMEOUT_UNIT_MS[m[2]!]! : undefined;
}

/** The `grpc-status` in a header or trailer list: 0..16, UNKNOWN for a value out of range, -1 when absent. */
export function grpcStatusIn(fields: readonly string[] | undefined): number {
  if (fields === undefined) return -1;
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === 'grpc-status') {
      const v = fields[i + 1]!;
      const n = /^\d{1,2}$/.test(v) ? Number(v) : NaN;
      return n <= MAX_GRPC_STATUS ? n : GRPC_UNKNOWN;
    }
  }
  return -1;
}

/** The gRPC status for an HTTP status, as gRPC clients and Envoy map it (PROTOCOL-HTTP2.md, "HTTP to gRPC status"). */
export function grpcStatusForHttp(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return GRPC_UNKNOWN;
  }
}

/** A `grpc-message` value: UTF-8 bytes outside printable ASCII, and '%', percent-encoded. */
export function grpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte < 0x20 || byte > 0x7e || byte === 0x25 ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
  }
  return out;
}
