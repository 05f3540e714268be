// State-of-the-world ADS: every request restates the names wanted for a type; every response
// holds the current version of the resources it lists (for LDS and CDS: all of them).
// ACK = version_info of the response + its nonce; NACK = the last accepted version_info + the
// nonce + error_detail, so the server knows which push failed and what is still in use.
import { DISCOVERY_REQUEST, DISCOVERY_RESPONSE, SDS_SOTW_METHOD, SOTW_METHOD } from './ads-service.ts';
import type { DiscoveryResponseMessage } from './ads-service.ts';
import { decodeSotwResponse } from './decode.ts';
import { AdsStream, INVALID_ARGUMENT } from './stream-base.ts';
import type { StreamOptions } from './stream-base.ts';
import type { Subscription } from './subscription.ts';

export class SotwStream extends AdsStream<DiscoveryResponseMessage> {
  constructor(options: StreamOptions) {
    super(options, { path: options.service === 'sds' ? SDS_SOTW_METHOD : SOTW_METHOD, request: DISCOVERY_REQUEST, response: DISCOVERY_RESPONSE });
  }

  protected requestSubscription(subscription: Subscription): void {
    // An empty resource_names in the first request of a type means "everything", so a named
    // type with no names is not mentioned until it has some; later, empty means "none".
    if (!subscription.active && !subscription.requested) return;
    subscription.requested = true;
    this.send({
      type_url: subscription.typeUrl,
      version_info: subscription.acceptedVersion,
      resource_names: namesOf(subscription),
      response_nonce: subscription.nonce,
    });
  }

  protected async handleResponse(response: DiscoveryResponseMessage): Promise<void> {
    const subscription = this.subscriptions.get(response.type_url);
    if (subscription === undefined || !subscription.requested) return; // not asked for: Envoy ignores it
    subscription.nonce = response.nonce;
    const result = await this.decodeAndDeliver(subscription.typeUrl, response.version_info, () => {
      const resources = decodeSotwResponse(subscription.typeUrl, response, (name) => subscription.wants(name));
      const removed = subscription.removedBy(new Set(resources.map((r) => r.name)));
      return { version: response.version_info, resources, removed, complete: subscription.fullState };
    });
    const ack = { type_url: subscription.typeUrl, resource_names: namesOf(subscription), response_nonce: response.nonce };
    if (result.ok) {
      const { resources, removed } = result.update;
      subscription.accept(response.version_info, resources.map((r) => [r.name, r.version]), removed, Date.now());
      this.send({ ...ack, version_info: response.version_info });
    } else {
      subscription.reject(result.error);
      this.send({
        ...ack,
        version_info: subscription.acceptedVersion,
        error_detail: { code: INVALID_ARGUMENT, message: result.error },
      });
    }
  }
}

function namesOf(subscription: Subscription): string[] {
  return subscription.wildcard ? [] : [...subscription.names];
}
