// A real gRPC health server (grpc.health.v1.Health/Check on @grpc/grpc-js, from grpc-health.proto)
// on 127.0.0.1:0. `statuses` maps a service name to its serving status; an unknown name answers
// NOT_FOUND, as gRPC's health service does. Every call is recorded with what the checker sent.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING';

export interface HealthCall {
  service: string;
  authority: string;
  metadata: Record<string, string>;
  deadlineMs: number; // from grpc-timeout; Infinity when none was sent
}

export interface GrpcHealthServer {
  port: number;
  statuses: Map<string, ServingStatus>;
  calls: HealthCall[];
  /** Adds services beside Health (e.g. one that serves traffic). */
  server: grpc.Server;
  stop(): void;
}

const definition = protoLoader.loadSync(fileURLToPath(new URL('grpc-health.proto', import.meta.url)), { keepCase: true, enums: String, defaults: true });
const health = (grpc.loadPackageDefinition(definition).grpc as grpc.GrpcObject).health as grpc.GrpcObject;
const Health = (health.v1 as grpc.GrpcObject).Health as grpc.ServiceClientConstructor;

/** `credentials`: TLS (ServerCredentials.createSsl); plain text when absent. */
export async function startGrpcHealthServer(
  t: Test,
  statuses: Record<string, ServingStatus>,
  extra?: (server: grpc.Server) => void,
  credentials = grpc.ServerCredentials.createInsecure(),
): Promise<GrpcHealthServer> {
  const server = new grpc.Server();
  const result: GrpcHealthServer = { port: 0, statuses: new Map(Object.entries(statuses)), calls: [], server, stop: () => server.forceShutdown() };
  server.addService(Health.service, {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const deadline = call.getDeadline();
      result.calls.push({
        service: call.request.service,
        authority: call.getHost(),
        metadata: Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)])),
        deadlineMs: (deadline instanceof Date ? deadline.getTime() : Number(deadline)) - Date.now(),
      });
      const status = result.statuses.get(call.request.service);
      if (status === undefined) cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      else cb(null, { status });
    },
  });
  extra?.(server);
  result.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, port) => (err ? reject(err) : resolve(port))),
  );
  t.teardown(() => server.forceShutdown());
  return result;
}
