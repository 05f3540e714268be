// One state-of-the-world stream, served the way go-control-plane does: a type's first request
// gets the current set unless the client already holds its version; later requests get a
// response only when their resource names change; a NACK or a stale nonce gets none.
import type { JsonObject } from '../../../xds-client/index.ts';
import { Session, type Subscribed } from './session.ts';

interface TypeState extends Subscribed {
  nonce: string;
}

export class SotwSession extends Session<TypeState> {
  onRequest(request: JsonObject): void {
    const typeUrl = String(request.type_url ?? '');
    const names = (request.resource_names ?? []) as string[];
    const state = this.types.get(typeUrl);
    if (state === undefined) {
      this.types.set(typeUrl, { wildcard: names.length === 0 || names.includes('*'), names: new Set(names), nonce: '' });
      if (this.store.get(typeUrl)?.version !== (request.version_info ?? '')) this.push(typeUrl);
      return;
    }
    if (request.error_detail !== undefined) return;
    if ((request.response_nonce ?? '') !== state.nonce) return;
    const changed = names.length !== state.names.size || names.some((n) => !state.names.has(n));
    state.names = new Set(names);
    if (changed) this.push(typeUrl);
  }

  // Sends the current set of a type (or the `only` part of it), if the client subscribed to it.
  push(typeUrl: string, only?: ReadonlySet<string>): void {
    const state = this.types.get(typeUrl);
    const set = this.store.get(typeUrl);
    if (state === undefined || set === undefined) return;
    const candidates = only === undefined ? [...set.resources.values()] : [...only].flatMap((name) => set.resources.get(name) ?? []);
    const resources = candidates.filter((r) => state.wildcard || state.names.has(r.name)).map((r) => r.json);
    state.nonce = this.nextNonce();
    this.write({ version_info: set.version, resources, type_url: typeUrl, nonce: state.nonce });
  }
}
