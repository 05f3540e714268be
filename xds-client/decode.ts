// One Any from a response -> the resource as proto3 JSON, checked against the response's type.
import { RESOURCE_WRAPPER } from './ads-service.ts';
import type { ResourceMessage } from './ads-service.ts';
import { anyToJson, typeNameOf } from './proto-json.ts';
import type { AnyMessage, JsonObject } from './proto-json.ts';
import { lookupMessage, requireMessage } from './protos.ts';
import { resourceNameOf } from './resource-types.ts';
import type { DecodedResource } from './types.ts';

// The resource without its "@type" (the type URL travels beside it), as a YAML file holds it.
export function decodeAny(typeUrl: string, any: AnyMessage): JsonObject {
  const expected = typeNameOf(typeUrl);
  const actual = typeNameOf(any.type_url);
  if (actual !== expected) throw new Error(`a resource of type ${actual} in a ${expected} response`);
  if (lookupMessage(actual) === undefined) throw new Error(`resources of type ${actual} are not supported`);
  const { '@type': _typeUrl, ...resource } = anyToJson(any);
  return resource;
}

// A state-of-the-world resource, possibly wrapped in envoy.service.discovery.v3.Resource (which
// servers use to give a name, a per-resource version or a TTL).
export function decodeSotwResource(typeUrl: string, any: AnyMessage, responseVersion: string): DecodedResource {
  if (typeNameOf(any.type_url) === RESOURCE_WRAPPER) {
    const wrapper = requireMessage(RESOURCE_WRAPPER).decode(any.value) as unknown as ResourceMessage;
    if (wrapper.resource === null) throw new Error(`a Resource wrapper without a resource (${wrapper.name})`);
    const resource = decodeAny(typeUrl, wrapper.resource);
    return {
      name: wrapper.name || resourceNameOf(typeUrl, resource),
      version: wrapper.version || responseVersion,
      resource,
    };
  }
  const resource = decodeAny(typeUrl, any);
  return { name: resourceNameOf(typeUrl, resource), version: responseVersion, resource };
}
