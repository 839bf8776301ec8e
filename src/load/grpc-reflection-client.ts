import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileDescriptorSet, readFileDescriptorHeader } from './file-descriptor.js';
import { grpcServices } from './grpc-services.js';

/** A -grpc-method the server's reflection resolved: its path and its request, built once from the -payload JSON. */
export interface CustomGrpcCall {
  path: string;
  request: Buffer;
}

/** Why a -grpc-method run cannot start, in Fortio's words (fgrpc RunGRPCTest). */
export class GrpcMethodError extends Error {}

interface ReflectionResponse {
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

const NOT_FOUND = 5;

/**
 * Fortio's -grpc-method (fgrpc dynamic_grpc.go): "Service/Method" (a leading "/" allowed) resolved
 * by the server's reflection (v1, else v1alpha, as grpcreflect's auto client), and the request
 * message made from the -payload JSON (empty or "{}": an empty message).
 */
export async function resolveCustomCall(client: grpc.Client, fullMethod: string, payload: string): Promise<CustomGrpcCall> {
  const parts = fullMethod.replace(/^\//, '').split('/');
  if (parts.length !== 2) throw new GrpcMethodError(`failed to get method descriptor for ${fullMethod}: invalid method format: want Service/Method, got "${fullMethod}"`);
  const [service, method] = parts as [string, string];
  let files: Buffer[];
  try {
    files = await reflectFiles(client, service);
  } catch (err) {
    throw new GrpcMethodError(`failed to get method descriptor for ${fullMethod}: ${(err as Error).message}`);
  }
  const def = protoLoader.loadFileDescriptorSetFromBuffer(fileDescriptorSet(files), { longs: String, enums: String, defaults: true });
  const serviceDef = def[service] as grpc.ServiceDefinition | undefined;
  const methodDef = serviceDef?.[method] as grpc.MethodDefinition<object, object> | undefined;
  if (!methodDef) throw new GrpcMethodError(`failed to get method descriptor for ${fullMethod}: method ${method} not found in service ${service}`);
  let message: object = {};
  if (payload !== '' && payload !== '{}') {
    try {
      message = camelKeys(JSON.parse(payload)) as object;
    } catch (err) {
      throw new GrpcMethodError(`failed to get request message for ${fullMethod}: failed to unmarshal JSON payload: ${(err as Error).message}`);
    }
  }
  return { path: methodDef.path, request: methodDef.requestSerialize(message) };
}

/** Protobuf JSON takes a field by its proto name or its lowerCamel JSON name; protobufjs knows the latter. */
function camelKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(camelKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/_([a-z\d])/g, (_, c: string) => c.toUpperCase()), camelKeys(x)]));
}

/** The .proto files defining `service` and all they import, asked of the reflection service. */
async function reflectFiles(client: grpc.Client, service: string): Promise<Buffer[]> {
  try {
    return await reflectWith(client, 'v1', service);
  } catch (err) {
    if ((err as grpc.ServiceError).code !== grpc.status.UNIMPLEMENTED) throw err;
    return reflectWith(client, 'v1alpha', service);
  }
}

function reflectWith(client: grpc.Client, version: string, service: string): Promise<Buffer[]> {
  const def = grpcServices().reflection['ServerReflectionInfo']!;
  const call = client.makeBidiStreamRequest(`/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`, def.requestSerialize, (b: Buffer) => def.responseDeserialize(b) as ReflectionResponse);
  const byName = new Map<string, Buffer>();
  const asked = new Set<string>();
  return new Promise((resolve, reject) => {
    const ask = (req: object): void => void call.write(req);
    call.on('data', (res: ReflectionResponse) => {
      if (res.error_response) {
        call.cancel();
        const e = res.error_response;
        reject(new Error(e.error_code === NOT_FOUND ? `Symbol not found: ${service}` : e.error_message));
        return;
      }
      for (const file of res.file_descriptor_response?.file_descriptor_proto ?? []) byName.set(readFileDescriptorHeader(file).name, file);
      // Ask for each import not yet sent, one at a time, as grpcreflect does.
      const missing = [...byName.values()].flatMap((f) => readFileDescriptorHeader(f).dependencies).find((d) => !byName.has(d) && !asked.has(d));
      if (missing !== undefined) {
        asked.add(missing);
        ask({ file_by_filename: missing });
        return;
      }
      call.end();
      resolve([...byName.values()]);
    });
    call.on('error', reject);
    ask({ file_containing_symbol: service });
  });
}
