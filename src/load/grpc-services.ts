import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Fortio's ping service and the standard health service, as the echo server serves them and load calls them. */
export interface GrpcServices {
  ping: grpc.ServiceDefinition;
  health: grpc.ServiceDefinition;
  /** Their .proto files as serialized FileDescriptorProtos, and the names they define (for server reflection). */
  descriptors: Buffer[];
  symbols: Set<string>;
  /** grpc.reflection.v1.ServerReflection (v1alpha has the same messages under another name). */
  reflection: grpc.ServiceDefinition;
}

export const PING_METHOD = '/fgrpc.PingServer/Ping';
export const HEALTH_METHOD = '/grpc.health.v1.Health/Check';

/** grpc.health.v1 ServingStatus names by number; RetCodes are keyed by these, as in Fortio. */
export const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;
export const SERVING = 1;

let loaded: GrpcServices | undefined;

/** Loads the two .proto files once (no code generation). */
export function grpcServices(): GrpcServices {
  if (loaded) return loaded;
  const def = protoLoader.loadSync([protoPath('ping.proto'), protoPath('health.proto')], { longs: Number, keepCase: true, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    fgrpc: { PingServer: { service: grpc.ServiceDefinition } };
    grpc: { health: { v1: { Health: { service: grpc.ServiceDefinition } } } };
  };
  // Every type proto-loader defines carries the descriptors of all the files it loaded.
  const message = def['fgrpc.PingMessage'] as protoLoader.MessageTypeDefinition<object, object>;
  const symbols = new Set<string>();
  for (const [name, d] of Object.entries(def)) {
    symbols.add(name);
    if (!('format' in d) && !('type' in d)) for (const method of Object.keys(d)) symbols.add(`${name}.${method}`);
  }
  const reflectionDef = protoLoader.loadSync(protoPath('reflection.proto'), { keepCase: true, defaults: true, oneofs: true });
  const reflection = (reflectionDef['grpc.reflection.v1.ServerReflection'] as unknown) as grpc.ServiceDefinition;
  loaded = { ping: pkg.fgrpc.PingServer.service, health: pkg.grpc.health.v1.Health.service, descriptors: message.fileDescriptorProtos, symbols, reflection };
  return loaded;
}

/** The repository's proto/ directory, found from this file whether it runs from src/ or dist/. */
function protoPath(file: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'proto', file);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`proto/${file} not found next to the installation`);
}
