// One Any from a response -> the resource as proto3 JSON, checked against the response's type.
import { RESOURCE_WRAPPER } from './ads-service.ts';
import type { DiscoveryResponseMessage, ResourceMessage } from './ads-service.ts';
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
function decodeSotwResource(typeUrl: string, any: AnyMessage, responseVersion: string): DecodedResource {
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

// Every resource of a state-of-the-world response (or a file holding one) that `wants` accepts;
// Envoy leaves out resources of a named type that were not asked for.
export function decodeSotwResponse(
  typeUrl: string,
  response: DiscoveryResponseMessage,
  wants: (name: string) => boolean,
): DecodedResource[] {
  const resources: DecodedResource[] = [];
  const seen = new Set<string>();
  response.resources.forEach((any, index) => {
    let resource: DecodedResource;
    try {
      resource = decodeSotwResource(typeUrl, any, response.version_info);
    } catch (error) {
      throw new Error(`resource ${index}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (resource.name === '') throw new Error(`resource ${index} has no name`);
    if (seen.has(resource.name)) throw new Error(`duplicate resource name "${resource.name}"`);
    seen.add(resource.name);
    if (wants(resource.name)) resources.push(resource);
  });
  return resources;
}
