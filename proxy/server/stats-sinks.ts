// The bootstrap's stats_sinks as the processes run them: the primary flushes every sink (the
// metrics service's gRPC stream is loaded only when one is configured), and each worker sends the
// statsd timers it records.
import type { BootstrapConfig, StatsConfig } from '../config/index.ts';
import type { MergedStats, StatsSettings, Store } from '../stats/index.ts';
import { createStatsdSink, sendHistogramsTo, StatsFlusher, type MetricsServiceSinkConfig, type StatsdSinkConfig, type StatsSinkConfig } from '../stats/sinks/index.ts';

const isStatsd = (c: StatsSinkConfig): c is StatsdSinkConfig => c.kind !== 'metrics_service';
const isMetricsService = (c: StatsSinkConfig): c is MetricsServiceSinkConfig => c.kind === 'metrics_service';

/** The primary's flusher; null without stats_sinks (no timer then). Throws a one-line error. */
export async function primaryStatsFlusher(
  boot: BootstrapConfig,
  context: { settings: StatsSettings; store: Store; collect(): Promise<MergedStats>; log(line: string): void },
): Promise<StatsFlusher | null> {
  const config = boot.statsSinks;
  if (config === undefined) return null;
  const statsd = config.sinks.filter(isStatsd).map((c) => createStatsdSink(c, context.settings));
  sendHistogramsTo(context.store, statsd, context.settings); // the primary's own histograms
  const grpc = config.sinks.filter(isMetricsService);
  const services = [];
  if (grpc.length > 0) {
    const [{ metricsServiceSink }, { nodeInfo }] = await Promise.all([import('./metrics-service.ts'), import('./grpc-target.ts')]);
    for (const c of grpc) services.push(metricsServiceSink(c, context.settings, { clusters: boot.clusters, node: nodeInfo(boot.node), log: context.log }));
  }
  return new StatsFlusher({ config, sinks: [...statsd, ...services], settings: context.settings, store: context.store, collect: context.collect });
}

/** What a worker needs to send its timers: the statsd sinks and the stats_config. */
export function workerStatsSinks(boot: BootstrapConfig): { statsSinks?: { sinks: StatsdSinkConfig[]; statsConfig?: StatsConfig } } {
  const sinks = boot.statsSinks?.sinks.filter(isStatsd) ?? [];
  return sinks.length === 0 ? {} : { statsSinks: { sinks, statsConfig: boot.statsConfig } };
}
