// One tracer per provider config per worker, shared by every connection manager that names the
// same provider (Envoy's TracerManager caches drivers by config), so a config update does not
// start a second reporter and its timer. Each tracer's reports go to its collector cluster through
// Legate's own async client (the cluster's load balancer, circuit breaker, pools and stats), as
// Envoy's tracers use the cluster's AsyncClient.
import type { OpenTelemetryProvider, TracingProvider, ZipkinProvider } from '../config/model.ts';
import type { Store } from '../stats/index.ts';
import { sendAsyncRequest, type ClusterManager } from '../upstream/index.ts';
import type { OtelSpan } from './otel-span.ts';
import { OtelTracer } from './otel-tracer.ts';
import { encodeExportRequest } from './otlp.ts';
import type { Tracer } from './span.ts';
import { SpanReporter } from './span-reporter.ts';
import type { ZipkinSpan } from './zipkin-span.ts';
import { ZipkinTracer } from './zipkin-tracer.ts';

export interface TracerContext {
  clusters: ClusterManager;
  store: Store;
  /** node.cluster: the service name in every Zipkin span's local endpoint. */
  localCluster: string;
}

// Envoy's tracing.zipkin.request_timeout default.
const ZIPKIN_TIMEOUT_MS = 5000;

const cache = new WeakMap<ClusterManager, Map<string, { tracer: Tracer; reporter: { close(): Promise<void> } }>>();

export function tracerFor(provider: TracingProvider, ctx: TracerContext): Tracer {
  let byConfig = cache.get(ctx.clusters);
  if (byConfig === undefined) cache.set(ctx.clusters, (byConfig = new Map()));
  const key = JSON.stringify(provider);
  const known = byConfig.get(key);
  if (known !== undefined) return known.tracer;
  const made = provider.kind === 'zipkin' ? zipkin(provider, ctx) : openTelemetry(provider, ctx);
  byConfig.set(key, made);
  return made.tracer;
}

// Zipkin: a 202 counts as reports_sent, any other answer as reports_dropped, none as reports_failed.
function zipkin(provider: ZipkinProvider, ctx: TracerContext): { tracer: Tracer; reporter: SpanReporter<ZipkinSpan> } {
  const c = (name: string) => ctx.store.counter(`tracing.zipkin.${name}`);
  const [sent, dropped, failed, noCluster] = [c('reports_sent'), c('reports_dropped'), c('reports_failed'), c('reports_skipped_no_cluster')];
  const { collectorCluster, collectorEndpoint, collectorHostname } = provider;
  const reporter = new SpanReporter<ZipkinSpan>(ctx.store, 'zipkin', (spans, reported) => {
    const body = Buffer.from(JSON.stringify(spans));
    const request = { method: 'POST', path: collectorEndpoint, authority: collectorHostname, headers: { 'content-type': 'application/json' }, body, timeoutMs: ZIPKIN_TIMEOUT_MS };
    sendAsyncRequest(ctx.clusters, collectorCluster, request, {
      onSuccess: (response) => {
        (response.status === 202 ? sent : dropped).inc();
        reported();
      },
      onFailure: (reason) => {
        (reason === 'no-cluster' ? noCluster : failed).inc();
        reported();
      },
    });
  });
  return { tracer: new ZipkinTracer(provider, reporter, ctx.localCluster), reporter };
}

// OpenTelemetry: an OTLP export over gRPC (a unary call on the cluster's HTTP/2 pool) or over HTTP
// (protobuf), whose reports Envoy counts as tracing.opentelemetry.http_reports_{sent,success,failed}.
function openTelemetry(provider: OpenTelemetryProvider, ctx: TracerContext): { tracer: Tracer; reporter: SpanReporter<OtelSpan> } {
  const grpc = provider.transport === 'grpc';
  const c = (name: string) => ctx.store.counter(`tracing.opentelemetry.${name}`);
  const httpCounters = grpc ? undefined : { sent: c('http_reports_sent'), success: c('http_reports_success'), failed: c('http_reports_failed') };
  const headers = Object.fromEntries(provider.headers);
  const reporter = new SpanReporter<OtelSpan>(ctx.store, 'opentelemetry', (spans, reported) => {
    const message = encodeExportRequest(spans, provider.serviceName);
    let body: Buffer;
    if (grpc) {
      // A gRPC message: uncompressed flag, 4-byte length, the protobuf.
      body = Buffer.alloc(5 + message.length);
      body.writeUInt32BE(message.length, 1);
      body.set(message, 5);
      headers['content-type'] = 'application/grpc';
      headers.te = 'trailers';
      if (provider.timeoutMs > 0) headers['grpc-timeout'] = `${provider.timeoutMs}m`;
    } else {
      body = Buffer.from(message);
      headers['content-type'] = 'application/x-protobuf';
    }
    httpCounters?.sent.inc();
    const timeoutMs = provider.timeoutMs > 0 ? provider.timeoutMs : ZIPKIN_TIMEOUT_MS;
    const request = { method: 'POST', path: provider.path, authority: provider.authority, headers, body, timeoutMs, ...(grpc ? { protocol: 'HTTP/2' as const } : {}) };
    sendAsyncRequest(ctx.clusters, provider.cluster, request, {
      onSuccess: (response) => {
        if (httpCounters !== undefined) (response.status >= 200 && response.status < 300 ? httpCounters.success : httpCounters.failed).inc();
        reported();
      },
      onFailure: () => {
        httpCounters?.failed.inc();
        reported();
      },
    });
  });
  return { tracer: new OtelTracer(reporter), reporter };
}

// How long a draining worker waits for its last reports before its pools close.
const CLOSE_WAIT_MS = 1000;

/** Stops the worker's reporters and sends what they hold; resolves when answered, or after a second. */
export async function closeTracers(clusters: ClusterManager): Promise<void> {
  const byConfig = cache.get(clusters);
  if (byConfig === undefined) return;
  cache.delete(clusters);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)));
  await Promise.race([Promise.all([...byConfig.values()].map((e) => e.reporter.close())), deadline]);
  clearTimeout(timer);
}
