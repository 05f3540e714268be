// What both kinds of ADS stream hold: the store they serve from, how they write a response and
// number its nonce, and per type URL what the client subscribed to.
import type { JsonObject } from '../../../xds-client/index.ts';
import type { ResourceStore } from './resource-store.ts';

export interface Subscribed {
  wildcard: boolean;
  names: Set<string>;
}

export abstract class Session<State extends Subscribed> {
  protected readonly types = new Map<string, State>();
  protected readonly store: ResourceStore;
  protected readonly write: (response: JsonObject) => void;
  protected readonly nextNonce: () => string;

  constructor(store: ResourceStore, write: (response: JsonObject) => void, nextNonce: () => string) {
    this.store = store;
    this.write = write;
    this.nextNonce = nextNonce;
  }

  abstract onRequest(request: JsonObject): void;

  // Sends what the client should hear now of a type, if it subscribed to it; `only` limits a
  // state-of-the-world response to those resources (an incremental push, as istiod's for EDS).
  abstract push(typeUrl: string, only?: ReadonlySet<string>): void;
}
