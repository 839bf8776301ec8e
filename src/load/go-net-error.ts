/*
 * Socket errors as Go's net package words them (net.OpError, syscall.Errno on Linux): Fortio's tcp
 * and udp runners key their RetCodes by these texts, e.g.
 * "dial tcp 127.0.0.1:1: connect: connection refused".
 */

/** Linux's strerror texts, as Go's syscall.Errno.Error() gives them, for the errors a socket meets. */
const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ECONNABORTED: 'software caused connection abort',
  EPIPE: 'broken pipe',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network is unreachable',
  EADDRNOTAVAIL: 'cannot assign requested address',
  EADDRINUSE: 'address already in use',
  EMSGSIZE: 'message too long',
  EACCES: 'permission denied',
};

/** An address as Go's net.TCPAddr/UDPAddr String() writes it: "127.0.0.1:80", "[::1]:80". */
export function goAddress(ip: string, port: number): string {
  return `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

/** Go's text for the system error under a Node socket error ("connection refused"). */
function goErrnoText(err: NodeJS.ErrnoException): string {
  return (err.code !== undefined ? ERRNO_TEXT[err.code] : undefined) ?? err.message;
}

/**
 * Go's net.OpError text for a failed dial, read or write: "dial tcp 127.0.0.1:1: connect: connection
 * refused", "write tcp 127.0.0.1:4000->127.0.0.1:8078: write: broken pipe", or with 'timeout' for a
 * deadline that passed, "read tcp 127.0.0.1:4000->127.0.0.1:8078: i/o timeout". A dial has no `local`.
 */
export function goSocketError(op: 'dial' | 'read' | 'write', network: 'tcp' | 'udp', local: string | undefined, remote: string, err: NodeJS.ErrnoException | 'timeout'): string {
  const cause = err === 'timeout' ? 'i/o timeout' : `${op === 'dial' ? 'connect' : op}: ${goErrnoText(err)}`;
  return `${op} ${network} ${local !== undefined ? `${local}->` : ''}${remote}: ${cause}`;
}
