// The overload manager of one process (Envoy's OverloadManagerImpl): every refresh_interval it
// reads each resource monitor, turns the pressures into each action's scale through its
// triggers, and publishes Envoy's overload.* stats. Listeners and connection managers hold the
// action objects and read their scale where they decide (accept, request headers, response
// headers, idle sweep). The global connection limit is checked on accept, not on the timer.
import type { OverloadManagerConfig } from '../config/model.ts';
import type { Counter, Gauge, Store } from '../stats/index.ts';
import { ACTIONS, IDLE_ACTION, OverloadAction } from './action.ts';
import { globalConnectionLimit, type GlobalConnectionLimit } from './connection-limit.ts';
import { FixedHeapMonitor } from './fixed-heap.ts';
import type { ResourceMonitor } from './monitor.ts';
import { TimerScaler, UNSCALED } from './scale-timers.ts';
import { garbageCollector, SHRINK_INTERVAL_MS } from './shrink-heap.ts';
import { releaseFreeMemory } from '../allocator/index.ts';
import { makeTrigger } from './trigger.ts';

interface MonitorStats {
  pressure: Gauge;
  failedUpdates: Counter;
}

export interface OverloadOptions {
  store: Store;
  /** Worker processes in all: a global connection limit is shared out between them. */
  workers: number;
}

export class OverloadManager {
  readonly connections: GlobalConnectionLimit;
  readonly stopAcceptingRequests: OverloadAction;
  readonly disableHttpKeepalive: OverloadAction;
  readonly stopAcceptingConnections: OverloadAction;
  readonly rejectIncomingConnections: OverloadAction;
  readonly timers: TimerScaler | typeof UNSCALED;
  private readonly shrinkHeap: OverloadAction;
  private readonly actions: OverloadAction[];
  private readonly monitors: { monitor: ResourceMonitor; stats: MonitorStats }[];
  private readonly pressures = new Map<string, number>();
  private readonly refreshMs: number;
  private readonly listeners: (() => void)[] = [];
  private readonly shrinkCount: Counter | undefined;
  private lastShrink = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(config: OverloadManagerConfig | undefined, options: OverloadOptions) {
    const { store, workers } = options;
    this.refreshMs = config?.refreshIntervalMs ?? 1000;
    this.connections = globalConnectionLimit(config, workers);
    this.monitors = (config?.monitors ?? []).map((m) => {
      const monitor: ResourceMonitor = 'maxHeapSizeBytes' in m ? new FixedHeapMonitor(m.maxHeapSizeBytes) : this.connections;
      const prefix = `overload.${m.name}.`;
      // Envoy counts skipped_updates when an asynchronous monitor is still busy; these are synchronous.
      store.counter(prefix + 'skipped_updates');
      return { monitor, stats: { pressure: store.gauge(prefix + 'pressure', 'never'), failedUpdates: store.counter(prefix + 'failed_updates') } };
    });
    this.actions = (config?.actions ?? []).map((a) => new OverloadAction(a.name, a.triggers.map(makeTrigger), store));
    const action = (name: string) => this.actions.find((a) => a.name === name) ?? IDLE_ACTION;
    this.stopAcceptingRequests = action(ACTIONS.stopAcceptingRequests);
    this.disableHttpKeepalive = action(ACTIONS.disableHttpKeepalive);
    this.stopAcceptingConnections = action(ACTIONS.stopAcceptingConnections);
    this.rejectIncomingConnections = action(ACTIONS.rejectIncomingConnections);
    this.shrinkHeap = action(ACTIONS.shrinkHeap);
    const reduce = config?.actions.find((a) => a.name === ACTIONS.reduceTimeouts);
    this.timers = reduce === undefined ? UNSCALED : new TimerScaler(action(ACTIONS.reduceTimeouts), reduce.scaleTimers ?? []);
    if (this.shrinkHeap !== IDLE_ACTION) {
      garbageCollector(); // set up now: a failure is a start-up error, not a surprise under pressure
      this.shrinkCount = store.counter(`overload.${ACTIONS.shrinkHeap}.shrink_count`);
    }
  }

  /** Starts the refresh timer (only when there is something to refresh) and takes a first reading. */
  start(): void {
    if (this.monitors.length === 0 || this.timer !== undefined) return;
    this.refresh();
    this.timer = setInterval(() => this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Called after a refresh that changed an action's scale (listeners pause or resume accepting). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** One reading of every monitor, then every action's scale. */
  private refresh(): void {
    for (const { monitor, stats } of this.monitors) {
      try {
        const pressure = monitor.pressure();
        this.pressures.set(monitor.name, pressure);
        stats.pressure.set(Math.round(pressure * 100));
      } catch {
        stats.failedUpdates.inc();
      }
    }
    let changed = false;
    for (const action of this.actions) changed = action.update(this.pressures) || changed;
    if (changed) for (const listener of this.listeners) listener();
    if (this.shrinkHeap.saturated && Date.now() - this.lastShrink >= SHRINK_INTERVAL_MS) {
      this.lastShrink = Date.now();
      garbageCollector()();
      releaseFreeMemory();
      this.shrinkCount?.inc();
    }
  }
}
