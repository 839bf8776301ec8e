import { parseArgs } from 'node:util';
import { EchoServer } from '../load/echo-server.js';
import { CliUsageError } from './cli-error.js';

const USAGE = `usage: bulwark echo [--port 8080] [--grpc-port 8079] [--tcp-port PORT] [--udp-port PORT] [--address 127.0.0.1]
                   [--cert FILE --key FILE]

An echo workload (Fortio's): HTTP/1.1 and h2c on one port, or HTTP/1.1 and HTTP/2 over TLS with --cert/--key,
and Fortio's gRPC ping and health services with server reflection (--grpc-port off disables them). Query parameters:
  delay=10ms | delay=10ms:50,100ms:5   fixed delay, or delays with percent probabilities (max 10s)
  status=503 | status=503:5,429:1      fixed status, or statuses with percent probabilities
  size=N | size=1024:10,512:5          a generated body of N bytes (max 10 MiB) instead of echoing, or sizes with percent probabilities
  close=true | close=5                 close the connection after the response (HTTP/1.1), or with that percent probability
  header=name:value                    add a response header (repeatable)
  gzip=true                            gzip the response when the request accepts it
--tcp-port and --udp-port start Fortio's TCP and UDP echo servers (every byte, every datagram sent
back), for \`bulwark load tcp://\` and \`udp://\`; unlike fortio server's (8078), they are off unless given.
GET /debug/stats returns the request count. SIGTERM/SIGINT print the count and exit.`;

/** \`bulwark echo\`: the echo workload. */
export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { port: { type: 'string' }, 'grpc-port': { type: 'string' }, 'tcp-port': { type: 'string' }, 'udp-port': { type: 'string' }, address: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    throw new CliUsageError(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const port = Number(values.port ?? 8080);
  const grpcPort = values['grpc-port'] === 'off' ? -1 : Number(values['grpc-port'] ?? 8079);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliUsageError('--port must be 0-65535');
  if (!Number.isInteger(grpcPort) || grpcPort < -1 || grpcPort > 65535) throw new CliUsageError('--grpc-port must be off or 0-65535');
  const tcpPort = optionalPort('--tcp-port', values['tcp-port']);
  const udpPort = optionalPort('--udp-port', values['udp-port']);
  if ((values.cert === undefined) !== (values.key === undefined)) throw new CliUsageError('--cert and --key go together');
  const server = new EchoServer();
  await server.start({ address: values.address ?? '127.0.0.1', port, grpcPort, tcpPort, udpPort, certFile: values.cert, keyFile: values.key });
  process.stdout.write(`${JSON.stringify({ msg: 'echo listening', http: server.port, grpc: server.grpcPort || null, tcp: server.tcpPort || null, udp: server.udpPort || null, tls: values.cert !== undefined })}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  process.stdout.write(`${JSON.stringify({ msg: 'echo stopped', requests: server.requests, byStatus: Object.fromEntries(server.byStatus) })}\n`);
  await server.close();
  return 0;
}

/** --tcp-port and --udp-port: -1 when not given or "off", else a port (0 for any free one). */
function optionalPort(flag: string, value: string | undefined): number {
  if (value === undefined || value === 'off') return -1;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliUsageError(`${flag} must be off or 0-65535`);
  return port;
}
