// Fixed-window counters in Redis, shared by every Legate that points at it. One hit is one Lua
// script per key (INCRBY, and EXPIRE when it made the key), so the count and its expiry are set
// atomically and a window's key removes itself. A request's keys are sent together: ioredis
// auto-pipelining writes every command issued in one tick as one batch, which is one round trip
// for the request and, under load, one round trip for many requests (per node, in a cluster).
// ioredis is loaded when a store is made: a worker without a redis_url never loads it (~25 MB).
import { createRequire } from 'node:module';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { CounterStore } from './counter-store.ts';
import { parseRedisUrl, type RedisTarget } from './redis-url.ts';

const HIT_SCRIPT = `
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if value == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return value`;

type HitClient = (Redis | Cluster) & {
  legateHit(key: string, hits: number, ttlSeconds: number): Promise<number>;
};

// Fail fast instead of queueing while disconnected: a request that cannot be counted now is
// answered now (fail open or closed), and nothing piles up during an outage.
const COMMON: RedisOptions = {
  enableAutoPipelining: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  connectTimeout: 2000,
  retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
};

export type ClientPlan = { kind: 'redis'; options: RedisOptions } | { kind: 'cluster'; nodes: { host: string; port: number }[]; options: ClusterOptions };

/** The ioredis constructor and options for a redis_url. */
export function clientPlan(target: RedisTarget): ClientPlan {
  const auth = { username: target.username, password: target.password, tls: target.tls ? {} : undefined };
  switch (target.kind) {
    case 'standalone':
      return { kind: 'redis', options: { ...COMMON, ...auth, host: target.node.host, port: target.node.port, db: target.db } };
    case 'sentinel':
      return { kind: 'redis', options: { ...COMMON, ...auth, sentinels: target.sentinels, name: target.masterName, db: target.db } };
    case 'cluster': {
      const { retryStrategy, enableOfflineQueue, enableAutoPipelining, ...redisOptions } = COMMON;
      return {
        kind: 'cluster',
        nodes: target.nodes,
        options: { enableOfflineQueue, enableAutoPipelining, clusterRetryStrategy: retryStrategy, redisOptions: { ...redisOptions, ...auth } },
      };
    }
  }
}

export class RedisCounterStore implements CounterStore {
  readonly name: string;
  private readonly client: HitClient;
  // Until the first connection attempt ends, requests wait for it (within the caller's timeout)
  // instead of failing open at start-up; from then on, no connection fails fast.
  private connecting: Promise<void> | undefined;

  constructor(url: string) {
    this.name = url.replace(/\/\/[^@/]*@/, '//'); // no password in log lines
    const plan = clientPlan(parseRedisUrl(url));
    const { Cluster, Redis } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
    const client = plan.kind === 'cluster' ? new Cluster(plan.nodes, plan.options) : new Redis(plan.options);
    client.defineCommand('legateHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
    // Connection errors reach the requests that fail; the service logs the outage once.
    client.on('error', () => {});
    this.client = client as HitClient;
    this.connecting = new Promise((resolve) => {
      const settle = () => {
        for (const event of ['ready', 'error', 'close']) client.off(event, settle);
        this.connecting = undefined;
        resolve();
      };
      for (const event of ['ready', 'error', 'close']) client.once(event, settle);
    });
  }

  increment(keys: readonly string[], hits: number, ttlSeconds: readonly number[]): Promise<number[]> {
    if (this.connecting !== undefined) return this.connecting.then(() => this.send(keys, hits, ttlSeconds));
    return this.send(keys, hits, ttlSeconds);
  }

  private send(keys: readonly string[], hits: number, ttlSeconds: readonly number[]): Promise<number[]> {
    if (keys.length === 1) return this.client.legateHit(keys[0], hits, ttlSeconds[0]).then((value) => [value]);
    return Promise.all(keys.map((key, i) => this.client.legateHit(key, hits, ttlSeconds[i])));
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
