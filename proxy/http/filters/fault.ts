// envoy.filters.http.fault: injects delays (flag DI) and aborts (flag FI) into a share of the
// requests, from the filter's config or the route's typed_per_filter_config override (the most
// specific one wins, as Envoy). Header-controlled faults read Envoy's x-envoy-fault-* headers.
// Stats: http.<stat_prefix>.fault.{delays_injected,aborts_injected,faults_overflow,active_faults}.
import type { FilterStatus, StreamWatcher } from '../../http-filter/index.ts';
import type { FaultConfig } from '../../config/model.ts';
import { compileHeaderMatcher, headerValue, requestHeaderGetter, type CompiledHeaderMatcher, type HeaderMap } from '../../router/index.ts';
import type { Counter, Gauge, Store } from '../../stats/index.ts';
import type { HttpStream } from '../stream.ts';
import type { FilterContext, HttpFilterInstance } from './filter-context.ts';
import { isDisabled, perRouteConfig } from './per-route-config.ts';
import { runtime, type RuntimeSnapshot } from '../../runtime/index.ts';

const DELAY_HEADER = 'x-envoy-fault-delay-request';
const DELAY_PERCENT_HEADER = 'x-envoy-fault-delay-request-percentage';
const ABORT_HEADER = 'x-envoy-fault-abort-request';
const ABORT_GRPC_HEADER = 'x-envoy-fault-abort-grpc-request';
const ABORT_PERCENT_HEADER = 'x-envoy-fault-abort-request-percentage';

/** A FaultConfig with its header matchers compiled, built once per config object. */
class FaultSettings {
  readonly config: FaultConfig;
  private readonly headers: { get: ReturnType<typeof requestHeaderGetter>; matcher: CompiledHeaderMatcher }[];
  private readonly downstreamNodes: Set<string>;

  constructor(config: FaultConfig) {
    this.config = config;
    this.headers = config.headers.map((m) => ({ get: requestHeaderGetter(m.name), matcher: compileHeaderMatcher(m) }));
    this.downstreamNodes = new Set(config.downstreamNodes);
  }

  /** upstream_cluster, downstream_nodes and headers all allow the fault for this request. */
  applies(stream: HttpStream): boolean {
    const target = this.config.upstreamCluster;
    if (target !== undefined && routeCluster(stream) !== target) return false;
    if (this.downstreamNodes.size > 0 && !this.downstreamNodes.has(headerValue(stream.headers, 'x-envoy-downstream-service-node') ?? '')) return false;
    return this.headers.every((h) => h.matcher.matches(h.get(stream.request)));
  }
}

const compiled = new WeakMap<FaultConfig, FaultSettings>();

function settingsOf(config: FaultConfig): FaultSettings {
  let settings = compiled.get(config);
  if (settings === undefined) {
    settings = new FaultSettings(config);
    compiled.set(config, settings);
  }
  return settings;
}

/** The cluster the route entry sends this request to (picked once, before the filters run). */
function routeCluster(stream: HttpStream): string | undefined {
  return stream.cluster?.name;
}

export class FaultFilter implements HttpFilterInstance {
  private readonly name: string;
  private readonly settings: FaultSettings;
  private readonly store: Store;
  private readonly prefix: string;
  private readonly delaysInjected: Counter;
  private readonly abortsInjected: Counter;
  private readonly overflow: Counter;
  private readonly activeFaults: Gauge;
  private readonly active = new WeakSet<HttpStream>();
  private readonly random: () => number;

  constructor(config: FaultConfig, ctx: FilterContext, name: string, random: () => number = Math.random) {
    this.name = name;
    this.settings = settingsOf(config);
    this.store = ctx.store;
    this.prefix = `http.${ctx.statPrefix}.fault.`;
    this.delaysInjected = ctx.store.counter(this.prefix + 'delays_injected');
    this.abortsInjected = ctx.store.counter(this.prefix + 'aborts_injected');
    this.overflow = ctx.store.counter(this.prefix + 'faults_overflow');
    this.activeFaults = ctx.store.gauge(this.prefix + 'active_faults');
    this.random = random;
  }

  decodeHeaders(stream: HttpStream): FilterStatus {
    const settings = this.settingsFor(stream);
    if (settings === null || !settings.applies(stream)) return 'continue';
    const delayMs = this.delayMs(settings.config, stream.headers, runtime.snapshot);
    if (delayMs === undefined || !this.activate(stream, settings.config)) return this.maybeAbort(stream, settings.config);
    this.count(stream, this.delaysInjected, 'delays_injected');
    stream.info.setResponseFlag('DI');
    // The stream holds here; its end (the client gone, a timeout) cancels the delay.
    const delay = new InjectedDelay();
    delay.timer = setTimeout(() => {
      // A delay may be followed by an abort.
      if (!stream.ended && this.maybeAbort(stream, settings.config) === 'continue') stream.continueDecoding();
    }, delayMs);
    stream.onDestroy(delay);
    return 'stop';
  }

  /** The route's override under this filter's name, else the virtual host's, else the filter's own; null when disabled. */
  private settingsFor(stream: HttpStream): FaultSettings | null {
    const override = perRouteConfig<FaultConfig>(stream, this.name);
    if (override === undefined) return this.settings;
    return isDisabled(override) ? null : settingsOf(override);
  }

  private delayMs(config: FaultConfig, headers: HeaderMap, snapshot: RuntimeSnapshot): number | undefined {
    const delay = config.delay;
    if (delay === undefined) return undefined;
    // The runtime may override the duration and the share (Envoy's fault.http.delay.* keys).
    let ms = snapshot.getInteger(config.runtime.delayDuration, delay.fixedDelayMs ?? 0);
    let percent = snapshot.percent(config.runtime.delayPercent, delay.percent, delay.denominator);
    if (delay.headerDelay) {
      const value = headerValue(headers, DELAY_HEADER);
      if (value === undefined || !/^\d+$/.test(value)) return undefined;
      ms = Number(value);
      percent = headerPercent(percent, headerValue(headers, DELAY_PERCENT_HEADER));
    }
    return ms > 0 && (this.enabled(percent) || this.clusterEnabled(snapshot, headers, 'delay.fixed_delay_percent', delay.percent, delay.denominator)) ? ms : undefined;
  }

  private maybeAbort(stream: HttpStream, config: FaultConfig): FilterStatus {
    const abort = config.abort;
    if (abort === undefined) return 'continue';
    const snapshot = runtime.snapshot;
    const keys = config.runtime;
    let httpStatus = abort.httpStatus === undefined ? undefined : snapshot.getInteger(keys.abortHttpStatus, abort.httpStatus);
    let grpcStatus = abort.grpcStatus === undefined ? undefined : snapshot.getInteger(keys.abortGrpcStatus, abort.grpcStatus);
    let percent = snapshot.percent(keys.abortPercent, abort.percent, abort.denominator);
    if (abort.headerAbort) {
      const http = headerValue(stream.headers, ABORT_HEADER);
      const grpc = headerValue(stream.headers, ABORT_GRPC_HEADER);
      httpStatus = http !== undefined && /^\d+$/.test(http) && Number(http) >= 200 && Number(http) < 600 ? Number(http) : undefined;
      grpcStatus = grpc !== undefined && /^\d+$/.test(grpc) ? Number(grpc) : undefined;
      percent = headerPercent(percent, headerValue(stream.headers, ABORT_PERCENT_HEADER));
    }
    const enabled = this.enabled(percent) || this.clusterEnabled(snapshot, stream.headers, 'abort.abort_percent', abort.percent, abort.denominator);
    if ((httpStatus === undefined && grpcStatus === undefined) || !enabled || !this.activate(stream, config)) return 'continue';
    this.count(stream, this.abortsInjected, 'aborts_injected');
    // As Envoy: an HTTP status wins; a gRPC status alone answers 200 and names the grpc-status
    // of a gRPC request's trailers-only reply (other requests just get the 200).
    if (httpStatus !== undefined) stream.sendLocalReply(httpStatus, 'fault filter abort', 'FI', 'fault_filter_abort');
    else stream.sendLocalReply(200, 'fault filter abort', 'FI', 'fault_filter_abort', undefined, grpcStatus);
    return 'stop';
  }

  private enabled(percent: number): boolean {
    return this.random() * 100 < percent;
  }

  /**
   * Envoy's per-downstream-cluster key, fault.http.<cluster>.<what>, when the request names its
   * cluster (x-envoy-downstream-service-cluster) and the runtime sets that key: a second chance at
   * the fault. Looked up only when the runtime has values, so a request without them builds no key.
   */
  private clusterEnabled(snapshot: RuntimeSnapshot, headers: HeaderMap, what: string, fallback: number, denominator: number): boolean {
    if (snapshot.entries.size === 0) return false;
    const cluster = headerValue(headers, 'x-envoy-downstream-service-cluster');
    if (cluster === undefined || cluster === '') return false;
    const key = `fault.http.${cluster}.${what}`;
    return snapshot.entries.has(key) && this.enabled(snapshot.percent(key, fallback, denominator));
  }

  /** One active fault per stream, counted in active_faults until the stream ends; false past max_active_faults. */
  private activate(stream: HttpStream, config: FaultConfig): boolean {
    if (this.active.has(stream)) return true;
    const max = runtime.snapshot.getInteger(config.runtime.maxActiveFaults, config.maxActiveFaults ?? Infinity);
    if (this.activeFaults.value >= max) {
      this.overflow.inc();
      return false;
    }
    this.active.add(stream);
    this.activeFaults.add(1);
    stream.onDestroy(new ActiveFault(this.activeFaults));
    return true;
  }

  /** Counts a fault, and per downstream cluster when x-envoy-downstream-service-cluster names one. */
  private count(stream: HttpStream, counter: Counter, name: string): void {
    counter.inc();
    const cluster = headerValue(stream.headers, 'x-envoy-downstream-service-cluster');
    if (cluster !== undefined && cluster !== '') this.store.counter(`${this.prefix}${cluster}.${name}`).inc();
  }
}

/** A delay in progress: the stream's end cancels its timer. */
class InjectedDelay implements StreamWatcher {
  timer: NodeJS.Timeout | undefined;
  onStreamDestroy(): void {
    clearTimeout(this.timer);
  }
}

/** An active fault counts in active_faults until its stream ends. */
class ActiveFault implements StreamWatcher {
  private readonly gauge: Gauge;
  constructor(gauge: Gauge) {
    this.gauge = gauge;
  }
  onStreamDestroy(): void {
    this.gauge.sub(1);
  }
}

/**
 * The x-envoy-fault-*-percentage headers can only lower the configured share. Envoy reads the
 * header as a numerator over the config's denominator; the model keeps a percent, so Legate takes
 * the header as a percent (the same when the denominator is HUNDRED, the default).
 */
function headerPercent(configured: number, header: string | undefined): number {
  if (header === undefined || !/^\d+$/.test(header)) return configured;
  return Math.min(configured, Number(header));
}

export function createFaultFilter(config: unknown, ctx: FilterContext, name: string): HttpFilterInstance {
  return new FaultFilter(config as FaultConfig, ctx, name);
}
