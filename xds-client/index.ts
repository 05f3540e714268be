// The control-plane client's public surface. It knows nothing of the proxy: it hands up raw
// resources (proto3 JSON, snake_case) and takes an accept or a reject back.
export { createXdsClient } from './client.ts';
export type { NodeInfo, XdsClient, XdsClientEvents, XdsClientOptions, XdsClientState, XdsServerOptions } from './client.ts';
export { createFileSource, parseDiscoveryFile } from './file-source.ts';
export type { FileSource, FileSourceOptions } from './file-source.ts';
export { Backoff } from './backoff.ts';
export type { BackoffOptions } from './backoff.ts';
export {
  CLUSTER_TYPE_URL,
  ENDPOINT_TYPE_URL,
  LISTENER_TYPE_URL,
  ROUTE_TYPE_URL,
  resourceNameOf,
  SECRET_TYPE_URL,
  WARMING_ORDER,
  WORKLOAD_TYPE_URL,
} from './resource-types.ts';
export { anyFromJson, anyToJson, ProtoJsonError } from './proto-json.ts';
export type { AnyMessage, JsonObject, JsonValue } from './proto-json.ts';
export { adsServiceDefinition } from './ads-service.ts';
export type { DiscoveryService } from './ads-service.ts';
export type {
  DecodedResource,
  ResourceConsumer,
  ResourceUpdate,
  TypeStats,
  UpdateResult,
  XdsLogger,
} from './types.ts';
