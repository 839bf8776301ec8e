import * as grpc from '@grpc/grpc-js';
import type { GrpcServices } from './grpc-services.js';

/** The ServerReflectionRequest fields a client sets (proto names; one of the message_request oneof). */
interface ReflectionRequest {
  host?: string;
  file_by_filename?: string;
  file_containing_symbol?: string;
  list_services?: string;
  message_request?: string;
}

const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

/**
 * gRPC server reflection over the echo server's services, under both names clients ask for
 * (grpc.reflection.v1 and v1alpha), as Fortio's ping server registers it: each file or symbol
 * request is answered with the descriptors of all its .proto files (they import nothing else).
 */
export function addReflection(server: grpc.Server, services: GrpcServices): void {
  const handler = { ServerReflectionInfo: (call: grpc.ServerDuplexStream<ReflectionRequest, object>) => serve(call, services) };
  server.addService(services.reflection, handler);
  const v1alpha = Object.fromEntries(Object.entries(services.reflection).map(([name, method]) => [name, { ...method, path: method.path.replace('grpc.reflection.v1.', 'grpc.reflection.v1alpha.') }]));
  server.addService(v1alpha, handler);
}

function serve(call: grpc.ServerDuplexStream<ReflectionRequest, object>, services: GrpcServices): void {
  const files = { file_descriptor_response: { file_descriptor_proto: services.descriptors } };
  call.on('data', (req: ReflectionRequest) => {
    const original = { original_request: req, valid_host: req.host ?? '' };
    const fail = (code: number, message: string): boolean => call.write({ ...original, error_response: { error_code: code, error_message: message } });
    if (req.file_containing_symbol !== undefined) {
      if (services.symbols.has(req.file_containing_symbol)) call.write({ ...original, ...files });
      else fail(NOT_FOUND, `symbol not found: ${req.file_containing_symbol}`);
    } else if (req.file_by_filename !== undefined) {
      if (['ping.proto', 'health.proto'].includes(req.file_by_filename)) call.write({ ...original, ...files });
      else fail(NOT_FOUND, `file not found: ${req.file_by_filename}`);
    } else if (req.list_services !== undefined) {
      call.write({ ...original, list_services_response: { service: [{ name: 'fgrpc.PingServer' }, { name: 'grpc.health.v1.Health' }, { name: 'grpc.reflection.v1.ServerReflection' }, { name: 'grpc.reflection.v1alpha.ServerReflection' }] } });
    } else {
      fail(UNIMPLEMENTED, 'unsupported reflection request');
    }
  });
  call.on('end', () => call.end());
  call.on('error', () => call.end());
}
