// Incremental (delta) ADS: requests carry only changes of interest (resource_names_subscribe /
// _unsubscribe); responses carry only changed resources, each with its own version, and the
// names of removed ones. ACK = the nonce; NACK = the nonce + error_detail. On a new stream the
// first request of a type lists the versions the proxy holds (initial_resource_versions), so
// the server sends only what changed meanwhile.
import { DELTA_METHOD, DELTA_REQUEST, DELTA_RESPONSE, SDS_DELTA_METHOD } from './ads-service.ts';
import type { DeltaDiscoveryResponseMessage } from './ads-service.ts';
import { decodeAny } from './decode.ts';
import { resourceNameOf } from './resource-types.ts';
import { AdsStream, errorMessage, INVALID_ARGUMENT } from './stream-base.ts';
import type { StreamOptions } from './stream-base.ts';
import type { Subscription } from './subscription.ts';
import type { DecodedResource } from './types.ts';

export class DeltaStream extends AdsStream<DeltaDiscoveryResponseMessage> {
  constructor(options: StreamOptions) {
    super(options, { path: options.service === 'sds' ? SDS_DELTA_METHOD : DELTA_METHOD, request: DELTA_REQUEST, response: DELTA_RESPONSE });
  }

  protected requestSubscription(subscription: Subscription): void {
    const typeUrl = subscription.typeUrl;
    if (!subscription.requested) {
      // An empty subscribe list in the first request of a type means wildcard.
      if (!subscription.active) return;
      const names = subscription.wildcard ? [] : [...subscription.names];
      subscription.requested = true;
      for (const name of names) subscription.sentNames.add(name);
      this.send({
        type_url: typeUrl,
        resource_names_subscribe: names,
        initial_resource_versions: subscription.knownVersions(),
      });
      return;
    }
    if (subscription.wildcard) return;
    const subscribe = [...subscription.names].filter((name) => !subscription.sentNames.has(name));
    const unsubscribe = [...subscription.sentNames].filter((name) => !subscription.names.has(name));
    if (subscribe.length === 0 && unsubscribe.length === 0) return;
    for (const name of subscribe) subscription.sentNames.add(name);
    for (const name of unsubscribe) subscription.sentNames.delete(name);
    this.send({ type_url: typeUrl, resource_names_subscribe: subscribe, resource_names_unsubscribe: unsubscribe });
  }

  protected async handleResponse(response: DeltaDiscoveryResponseMessage): Promise<void> {
    const subscription = this.subscriptions.get(response.type_url);
    if (subscription === undefined || !subscription.requested) return; // not asked for: Envoy ignores it
    subscription.nonce = response.nonce;
    const removed = [
      ...response.removed_resources,
      ...response.removed_resource_names.map((r) => r.name),
    ].filter((name) => subscription.wants(name));
    const result = await this.decodeAndDeliver(subscription.typeUrl, response.system_version_info, () => ({
      version: response.system_version_info,
      resources: decodeAll(subscription, response),
      removed,
      complete: false,
    }));
    if (result.ok) {
      const { resources } = result.update;
      subscription.accept(response.system_version_info, resources.map((r) => [r.name, r.version]), removed, Date.now());
      this.send({ type_url: subscription.typeUrl, response_nonce: response.nonce });
    } else {
      subscription.reject(result.error);
      this.send({
        type_url: subscription.typeUrl,
        response_nonce: response.nonce,
        error_detail: { code: INVALID_ARGUMENT, message: result.error },
      });
    }
  }
}

// A Resource without a payload only refreshes its TTL: nothing to apply.
function decodeAll(subscription: Subscription, response: DeltaDiscoveryResponseMessage): DecodedResource[] {
  const resources: DecodedResource[] = [];
  const seen = new Set<string>();
  response.resources.forEach((wrapper, index) => {
    if (wrapper.resource === null) return;
    let resource;
    try {
      resource = decodeAny(subscription.typeUrl, wrapper.resource);
    } catch (error) {
      throw new Error(`resource ${index}: ${errorMessage(error)}`);
    }
    const name = wrapper.name || wrapper.resource_name?.name || resourceNameOf(subscription.typeUrl, resource);
    if (name === '') throw new Error(`resource ${index} has no name`);
    if (seen.has(name)) throw new Error(`duplicate resource name "${name}"`);
    seen.add(name);
    if (subscription.wants(name)) resources.push({ name, version: wrapper.version, resource });
  });
  return resources;
}
