// A provider's keys: its local JWKS, parsed once, or its remote JWKS, fetched on first use through
// Legate's own cluster manager (upstream/async-client.ts) and kept for cache_duration. Requests that
// need the keys while a fetch is under way wait for that fetch; a failed fetch is not cached.
import type { JwksSource } from '../../../config/model.ts';
import type { Counter } from '../../../stats/index.ts';
import { sendAsyncRequest, type ClusterManager } from '../../../upstream/index.ts';
import { parseJwks, type Jwks } from './jwks.ts';
import { JwtStatus } from './status.ts';

export type KeysCallback = (jwks: Jwks | undefined, status: JwtStatus) => void;

export interface FetchStats {
  jwksFetchSuccess: Counter;
  jwksFetchFailed: Counter;
}

export class ProviderKeys {
  private readonly source: JwksSource;
  private readonly clusters: ClusterManager | undefined;
  private readonly stats: FetchStats;
  private jwks: Jwks | undefined;
  private expiresAt = 0;
  private waiters: KeysCallback[] | null = null; // a fetch under way

  constructor(source: JwksSource, clusters: ClusterManager | undefined, stats: FetchStats) {
    this.source = source;
    this.clusters = clusters;
    this.stats = stats;
    if (source.kind === 'local') this.jwks = parseJwks(source.text);
  }

  /** Calls back at once when the keys are at hand, else when the fetch ends. */
  get(callback: KeysCallback): void {
    const source = this.source;
    if (source.kind === 'local') {
      callback(this.jwks, this.jwks === undefined ? JwtStatus.jwksNoValidKeys : JwtStatus.ok);
      return;
    }
    if (this.jwks !== undefined && performance.now() < this.expiresAt) {
      callback(this.jwks, JwtStatus.ok);
      return;
    }
    if (this.waiters !== null) {
      this.waiters.push(callback);
      return;
    }
    this.waiters = [callback];
    const url = new URL(source.uri);
    const done = (jwks: Jwks | undefined): void => {
      const waiters = this.waiters ?? [];
      this.waiters = null;
      if (jwks === undefined) {
        this.stats.jwksFetchFailed.inc();
      } else {
        this.stats.jwksFetchSuccess.inc();
        this.jwks = jwks;
        this.expiresAt = performance.now() + source.cacheDurationMs;
      }
      for (const waiter of waiters) waiter(jwks, jwks === undefined ? JwtStatus.jwksFetchFail : JwtStatus.ok);
    };
    if (this.clusters === undefined) {
      done(undefined);
      return;
    }
    sendAsyncRequest(
      this.clusters,
      source.cluster,
      { method: 'GET', path: `${url.pathname}${url.search}`, authority: url.host, headers: {}, body: null, timeoutMs: source.timeoutMs },
      {
        onSuccess: (response) => done(response.status === 200 ? parseJwks(response.body.toString('utf8')) : undefined),
        onFailure: () => done(undefined),
      },
    );
  }
}
