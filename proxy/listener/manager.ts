// The worker's listeners. An update diffs by name: a new listener binds, a changed one keeps its
// socket and serves new connections with the new filter chains while existing connections finish
// on the old ones, a removed one stops accepting and closes once its connections drain.
import type { Listener } from '../config/model.ts';
import type { Store } from '../stats/index.ts';
import { ActiveListener, type ChainHandlerFactory } from './active-listener.ts';
import type { OverloadManager } from '../overload/index.ts';

// Not an ESM import: that reads every export of node:util, loading what its lazy ones need.
const { isDeepStrictEqual } = process.getBuiltinModule('node:util');

export interface BoundListener {
  name: string;
  address: string;
  port: number;
  internal?: true; // an internal listener: `address` is envoy://<name>/, nothing is bound
}

export class ListenerManager {
  private readonly listeners = new Map<string, ActiveListener>();
  private readonly store: Store;
  private readonly reusePort: boolean;

  private readonly drainTimeMs: number;

  /** drainTimeMs: how long a removed or replaced listener's connections may take to finish. */
  private readonly log: (line: string) => void;

  private readonly overload: OverloadManager | undefined;

  constructor(store: Store, reusePort: boolean, drainTimeMs: number, log: (line: string) => void, overload?: OverloadManager) {
    this.log = log;
    this.overload = overload;
    overload?.onChange(() => {
      const paused = overload.stopAcceptingConnections.saturated;
      for (const l of this.listeners.values()) l.setAcceptPaused(paused);
    });
    this.store = store;
    this.reusePort = reusePort;
    this.drainTimeMs = drainTimeMs;
  }

  /** Applies the listener set; rejects (with nothing changed for the failing listener) if a bind fails. */
  async update(configs: Listener[], handlers: ChainHandlerFactory): Promise<void> {
    const wanted = new Set(configs.map((l) => l.name));
    for (const [name, active] of this.listeners) {
      if (!wanted.has(name)) {
        this.listeners.delete(name);
        void active.drainAndClose(this.drainTimeMs);
      }
    }
    const binds: Promise<void>[] = [];
    for (const config of configs) {
      const active = this.listeners.get(config.name);
      if (active !== undefined && isDeepStrictEqual(active.config.address, config.address) && active.config.bindToPort === config.bindToPort) {
        active.reconfigure(config, handlers);
        continue;
      }
      if (active !== undefined) void active.drainAndClose(this.drainTimeMs);
      const fresh = new ActiveListener(config, handlers, this.store, this.reusePort, (ip, port) => this.byAddress(ip, port), this.log, this.overload);
      this.listeners.set(config.name, fresh);
      binds.push(fresh.listen());
    }
    await Promise.all(binds);
  }

  /**
   * A listener that does not bind (bind_to_port: false) by its address, for original_dst hand-off:
   * the one on exactly ip:port, else one on the wildcard address of that port, as Envoy.
   */
  byAddress(ip: string, port: number): ActiveListener | undefined {
    let wildcard: ActiveListener | undefined;
    for (const l of this.listeners.values()) {
      const { address } = l.config;
      if (l.config.bindToPort || l.config.internal === true || address.port !== port) continue;
      if (address.address === ip) return l;
      if (address.address === '::' || (address.address === '0.0.0.0' && !ip.includes(':'))) wildcard ??= l;
    }
    return wildcard;
  }

  bound(): BoundListener[] {
    return [...this.listeners.values()].map((l) => ({ name: l.config.name, ...l.boundAddress(), ...(l.config.internal === true ? { internal: true as const } : {}) }));
  }

  /** Stops accepting everywhere (Envoy's drain_listeners); connections in flight continue. */
  stopAccepting(): void {
    for (const l of this.listeners.values()) l.stopAccepting();
  }

  /** Stops accepting and waits for connections to finish, up to the deadline; then closes the rest. */
  async drain(timeoutMs: number): Promise<void> {
    await Promise.all([...this.listeners.values()].map((l) => l.drainAndClose(timeoutMs)));
    this.listeners.clear();
  }
}
