// One tracer per provider config per worker, shared by every connection manager that names the
// same provider (Envoy's TracerManager caches drivers by config), so a config update does not
// start a second reporter and its timer.
import type { TracingProvider } from '../config/model.ts';
import type { Store } from '../stats/index.ts';
import type { ClusterManager } from '../upstream/index.ts';
import { postToCollector } from './collector-post.ts';
import type { Tracer } from './span.ts';
import { ZipkinReporter, ZipkinStats } from './zipkin-reporter.ts';
import { ZipkinTracer } from './zipkin-tracer.ts';

export interface TracerContext {
  clusters: ClusterManager;
  store: Store;
  /** node.cluster: the service name in every span's local endpoint. */
  localCluster: string;
}

const cache = new WeakMap<ClusterManager, Map<string, { tracer: Tracer; close(): void }>>();

export function tracerFor(provider: TracingProvider, ctx: TracerContext): Tracer {
  let byConfig = cache.get(ctx.clusters);
  if (byConfig === undefined) cache.set(ctx.clusters, (byConfig = new Map()));
  const key = JSON.stringify(provider);
  const known = byConfig.get(key);
  if (known !== undefined) return known.tracer;
  const { collectorCluster, collectorEndpoint, collectorHostname } = provider;
  const reporter = new ZipkinReporter((body, timeoutMs, done) => {
    postToCollector(ctx.clusters, collectorCluster, { path: collectorEndpoint, authority: collectorHostname, contentType: 'application/json', body, timeoutMs }, done);
  }, new ZipkinStats(ctx.store));
  const tracer = new ZipkinTracer(provider, reporter, ctx.localCluster);
  byConfig.set(key, { tracer, close: () => reporter.close() });
  return tracer;
}

/** Sends what the worker's reporters hold (at drain) and stops their timers. */
export function closeTracers(clusters: ClusterManager): void {
  const byConfig = cache.get(clusters);
  if (byConfig === undefined) return;
  cache.delete(clusters);
  for (const entry of byConfig.values()) entry.close();
}
