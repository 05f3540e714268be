// Per type URL: what the proxy wants, what it has accepted, and where the current stream is.
// Pure state; the streams read it to build requests and update it on ACK/NACK.
import { isFullStateType, warmingRank } from './resource-types.ts';
import type { TypeStats } from './types.ts';

export class Subscription {
  readonly typeUrl: string;
  readonly wildcard: boolean;
  // Accepted resources: name -> version. They survive reconnects and are sent back to the server
  // (SotW: version_info; delta: initial_resource_versions) so it need not resend them.
  readonly known = new Map<string, string>();
  acceptedVersion = '';
  // Current stream only: the last nonce received, whether a request for this type went out,
  // and (delta) the names the server believes we are subscribed to.
  nonce = '';
  requested = false;
  readonly sentNames = new Set<string>();
  // Whether any response for this type arrived (the initial fetch is over).
  responded = false;
  #names = new Set<string>();
  #stats: TypeStats = {
    version: '',
    updateAttempt: 0,
    updateSuccess: 0,
    updateRejected: 0,
    updateFailure: 0,
    initFetchTimeout: 0,
    lastUpdateTime: undefined,
    lastError: undefined,
  };

  constructor(typeUrl: string, wildcard: boolean) {
    this.typeUrl = typeUrl;
    this.wildcard = wildcard;
  }

  get names(): ReadonlySet<string> {
    return this.#names;
  }

  // The full state of the world for this type is in every SotW response.
  get fullState(): boolean {
    return this.wildcard && isFullStateType(this.typeUrl);
  }

  // Whether the server should hear about this type on a new stream.
  get active(): boolean {
    return this.wildcard || this.#names.size > 0;
  }

  wants(name: string): boolean {
    return this.wildcard || this.#names.has(name);
  }

  // Returns whether the set changed. Names no longer wanted are forgotten, so that a later
  // subscription to them does not claim a version the proxy has dropped.
  setNames(names: Iterable<string>): boolean {
    if (this.wildcard) throw new TypeError(`${this.typeUrl} is a wildcard subscription; it takes no names`);
    const next = new Set(names);
    const changed = next.size !== this.#names.size || [...next].some((n) => !this.#names.has(n));
    this.#names = next;
    for (const name of this.known.keys()) if (!next.has(name)) this.known.delete(name);
    return changed;
  }

  // A new stream: nonces and what the server knew belong to the old one.
  resetStream(): void {
    this.nonce = '';
    this.requested = false;
    this.sentNames.clear();
  }

  // Versions the proxy holds for resources it still wants (delta's initial_resource_versions).
  knownVersions(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, version] of this.known) if (this.wants(name)) out[name] = version;
    return out;
  }

  // Names an accepted state-of-the-world response removes: for full-state types every known
  // name it does not list; for the others none (absent means unchanged).
  removedBy(names: ReadonlySet<string>): string[] {
    if (!this.fullState) return [];
    return [...this.known.keys()].filter((name) => !names.has(name));
  }

  accept(version: string, updated: Iterable<[name: string, version: string]>, removed: Iterable<string>, now: number): void {
    for (const [name, resourceVersion] of updated) this.known.set(name, resourceVersion);
    for (const name of removed) this.known.delete(name);
    this.acceptedVersion = version;
    this.responded = true;
    this.#stats.version = version;
    this.#stats.updateAttempt += 1;
    this.#stats.updateSuccess += 1;
    this.#stats.lastUpdateTime = now;
  }

  reject(error: string): void {
    this.responded = true;
    this.#stats.updateAttempt += 1;
    this.#stats.updateRejected += 1;
    this.#stats.lastError = error;
  }

  streamFailed(): void {
    this.#stats.updateAttempt += 1;
    this.#stats.updateFailure += 1;
  }

  initialFetchTimedOut(): void {
    this.#stats.initFetchTimeout += 1;
  }

  stats(): TypeStats {
    return { ...this.#stats };
  }
}

export class Subscriptions {
  readonly #byType = new Map<string, Subscription>();

  constructor(wildcardTypes: Iterable<string>) {
    for (const typeUrl of wildcardTypes) this.#byType.set(typeUrl, new Subscription(typeUrl, true));
  }

  get(typeUrl: string): Subscription | undefined {
    return this.#byType.get(typeUrl);
  }

  // The named subscription for a type, created on first use.
  named(typeUrl: string): Subscription {
    let subscription = this.#byType.get(typeUrl);
    if (subscription === undefined) {
      subscription = new Subscription(typeUrl, false);
      this.#byType.set(typeUrl, subscription);
    }
    return subscription;
  }

  // CDS, EDS, LDS, RDS, then any other type.
  inWarmingOrder(): Subscription[] {
    return [...this.#byType.values()].sort((a, b) => warmingRank(a.typeUrl) - warmingRank(b.typeUrl));
  }
}
