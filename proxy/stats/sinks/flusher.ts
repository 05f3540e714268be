// The primary's flush loop (Envoy's InstanceImpl::flushStats): every stats_flush_interval, or on
// each read of the admin's /stats with stats_flush_on_admin, the merged stats of all processes go to
// every sink. Merging asks every worker over IPC, so a flush can outlast the interval; a flush due
// while one is running is skipped and counted in server.dropped_stat_flushes, as Envoy does.
import type { MergedStats } from '../merge.ts';
import type { Counter } from '../metrics.ts';
import type { StatsSettings } from '../settings.ts';
import type { Store } from '../store.ts';
import { MetricLatch } from './metric-snapshot.ts';
import type { StatsSink, StatsSinksConfig } from './sink.ts';

export interface StatsFlusherOptions {
  config: StatsSinksConfig;
  sinks: StatsSink[];
  settings: StatsSettings;
  /** The merged stats of every process (the primary's stats()). */
  collect(): Promise<MergedStats>;
  /** The primary's own store, for server.dropped_stat_flushes. */
  store: Store;
}

export class StatsFlusher {
  readonly #options: StatsFlusherOptions;
  readonly #latch = new MetricLatch();
  readonly #withHistograms: boolean;
  readonly #dropped: Counter;
  #timer: NodeJS.Timeout | null = null;
  #inProgress = false;

  constructor(options: StatsFlusherOptions) {
    this.#options = options;
    this.#dropped = options.store.counter('server.dropped_stat_flushes');
    this.#withHistograms = options.sinks.some((s) => s.wantsHistograms);
  }

  /** Starts the interval timer (none with stats_flush_on_admin). */
  start(): void {
    if (this.#options.config.flushOnAdmin || this.#timer !== null) return;
    this.#timer = setInterval(() => void this.flush(), this.#options.config.flushIntervalMs);
    this.#timer.unref();
  }

  /** A timer flush: collects, then sends. */
  async flush(): Promise<void> {
    if (this.#inProgress) {
      this.#dropped.inc();
      return;
    }
    this.#inProgress = true;
    try {
      this.#send(await this.#options.collect());
    } catch {
      // A worker that went away mid-collect: the next flush has the new one.
    } finally {
      this.#inProgress = false;
    }
  }

  /** The admin's /stats was read: with stats_flush_on_admin, what it read is flushed. */
  adminRead(stats: MergedStats): void {
    if (this.#options.config.flushOnAdmin) this.#send(stats);
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const sink of this.#options.sinks) sink.close();
  }

  #send(stats: MergedStats): void {
    const snapshot = this.#latch.take(stats, this.#options.settings, this.#withHistograms);
    for (const sink of this.#options.sinks) sink.flush(snapshot);
  }
}
