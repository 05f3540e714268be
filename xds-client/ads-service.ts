// Envoy's AggregatedDiscoveryService on the wire. Messages are written as proto3 JSON (see
// proto-json.ts) and read as decoded protobufjs messages, so that each resource's Any is
// converted on its own and a bad one fails only its own update.
import type * as grpc from '@grpc/grpc-js';
import type { AnyMessage, JsonObject } from './proto-json.ts';
import { encodeJson, toJson } from './proto-json.ts';
import { requireMessage } from './protos.ts';

const SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
export const SOTW_METHOD = `/${SERVICE}/StreamAggregatedResources`;
export const DELTA_METHOD = `/${SERVICE}/DeltaAggregatedResources`;
// SDS from its own server (sds_config.api_config_source, Istio's sds-grpc): the same messages on
// the SecretDiscoveryService's methods.
const SECRET_SERVICE = 'envoy.service.secret.v3.SecretDiscoveryService';
export const SDS_SOTW_METHOD = `/${SECRET_SERVICE}/StreamSecrets`;
export const SDS_DELTA_METHOD = `/${SECRET_SERVICE}/DeltaSecrets`;

/** Which discovery service a client speaks: aggregated (ADS) or secrets only (SDS). */
export type DiscoveryService = 'ads' | 'sds';

export const DISCOVERY_REQUEST = 'envoy.service.discovery.v3.DiscoveryRequest';
export const DISCOVERY_RESPONSE = 'envoy.service.discovery.v3.DiscoveryResponse';
export const DELTA_REQUEST = 'envoy.service.discovery.v3.DeltaDiscoveryRequest';
export const DELTA_RESPONSE = 'envoy.service.discovery.v3.DeltaDiscoveryResponse';
export const RESOURCE_WRAPPER = 'envoy.service.discovery.v3.Resource';

// The fields of the decoded responses that the client reads (protobufjs puts proto3 defaults on
// the prototype, so absent strings read as '' and absent lists as []).
export interface DiscoveryResponseMessage {
  version_info: string;
  resources: AnyMessage[];
  type_url: string;
  nonce: string;
}

export interface ResourceMessage {
  name: string;
  resource_name: { name: string } | null;
  version: string;
  resource: AnyMessage | null;
}

export interface DeltaDiscoveryResponseMessage {
  system_version_info: string;
  resources: ResourceMessage[];
  type_url: string;
  removed_resources: string[];
  removed_resource_names: { name: string }[];
  nonce: string;
}

export function serializer(typeName: string): (json: JsonObject) => Buffer {
  return (json) => Buffer.from(encodeJson(requireMessage(typeName), json));
}

export function deserializer<T>(typeName: string): (bytes: Buffer) => T {
  return (bytes) => requireMessage(typeName).decode(bytes) as unknown as T;
}

// For servers (the test management server): requests and responses are both proto3 JSON.
export function adsServiceDefinition(service: DiscoveryService = 'ads'): grpc.ServiceDefinition {
  const method = (path: string, request: string, response: string): grpc.MethodDefinition<JsonObject, JsonObject> => ({
    path,
    requestStream: true,
    responseStream: true,
    requestSerialize: serializer(request),
    requestDeserialize: (bytes) => toJson(requireMessage(request), requireMessage(request).decode(bytes)) as JsonObject,
    responseSerialize: serializer(response),
    responseDeserialize: (bytes) => toJson(requireMessage(response), requireMessage(response).decode(bytes)) as JsonObject,
  });
  if (service === 'sds') {
    return {
      StreamSecrets: method(SDS_SOTW_METHOD, DISCOVERY_REQUEST, DISCOVERY_RESPONSE),
      DeltaSecrets: method(SDS_DELTA_METHOD, DELTA_REQUEST, DELTA_RESPONSE),
    };
  }
  return {
    StreamAggregatedResources: method(SOTW_METHOD, DISCOVERY_REQUEST, DISCOVERY_RESPONSE),
    DeltaAggregatedResources: method(DELTA_METHOD, DELTA_REQUEST, DELTA_RESPONSE),
  };
}
