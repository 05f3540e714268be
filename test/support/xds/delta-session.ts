// One delta stream: per type, what the client subscribed to and the versions it holds (from
// initial_resource_versions and what was sent); a push sends only changed resources and the
// names of removed ones. ACKs and NACKs get no response.
import type { JsonObject } from '../../../xds-client/index.ts';
import { Session, type Subscribed } from './session.ts';

interface TypeState extends Subscribed {
  known: Map<string, string>;
}

export class DeltaSession extends Session<TypeState> {
  onRequest(request: JsonObject): void {
    const typeUrl = String(request.type_url ?? '');
    const subscribe = (request.resource_names_subscribe ?? []) as string[];
    const unsubscribe = (request.resource_names_unsubscribe ?? []) as string[];
    let state = this.types.get(typeUrl);
    if (state === undefined) {
      const initial = (request.initial_resource_versions ?? {}) as Record<string, string>;
      state = { wildcard: subscribe.length === 0 || subscribe.includes('*'), names: new Set(), known: new Map(Object.entries(initial)) };
      this.types.set(typeUrl, state);
    } else if (request.error_detail !== undefined || (subscribe.length === 0 && unsubscribe.length === 0)) {
      return;
    }
    for (const name of subscribe) if (name !== '*') state.names.add(name);
    for (const name of unsubscribe) {
      state.names.delete(name);
      state.known.delete(name);
    }
    this.push(typeUrl);
  }

  push(typeUrl: string): void {
    const state = this.types.get(typeUrl);
    const set = this.store.get(typeUrl);
    if (state === undefined || set === undefined) return;
    const wants = (name: string): boolean => state.wildcard || state.names.has(name);
    const resources: JsonObject[] = [];
    for (const resource of set.resources.values()) {
      if (!wants(resource.name) || state.known.get(resource.name) === resource.version) continue;
      resources.push({ name: resource.name, version: resource.version, resource: resource.json });
      state.known.set(resource.name, resource.version);
    }
    const removed: string[] = [];
    for (const name of state.known.keys()) {
      if (wants(name) && !set.resources.has(name)) removed.push(name);
    }
    for (const name of removed) state.known.delete(name);
    if (resources.length === 0 && removed.length === 0) return;
    this.write({
      system_version_info: set.version,
      resources,
      type_url: typeUrl,
      removed_resources: removed,
      nonce: this.nextNonce(),
    });
  }
}
