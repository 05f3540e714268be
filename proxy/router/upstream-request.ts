// The per-request state of one routed request across its attempts (Envoy's Filter state in
// router.cc with its UpstreamRequests): the route timeout, retries and their back-off, the
// request body kept for a replay, the response streamed back with flow control both ways.
import type { HeaderMap, ResponseHeaders } from '../codec/index.ts';
import type { StreamWatcher, WatermarkCallbacks } from '../http-filter/index.ts';
import type { RouteAction } from '../config/model.ts';
import { isGrpcRequest } from '../grpc/index.ts';
import type { Host, UpstreamCluster } from '../upstream/index.ts';
import { Attempt, type AttemptOwner } from './attempt.ts';
import { stripHopByHop } from './hop-by-hop.ts';
import { sendShadows } from './mirror.ts';
import { RetryState, meshRetryPolicy, type ResetReason } from './retry-state.ts';
import type { RouterOptions, RouterState, RouterStream } from './router-stream.ts';
import { routeTimeoutMs, setGrpcTimeoutHeader } from './timeouts.ts';
import { failureReply } from './upstream-errors.ts';

const MESH_RETRY_POLICY = meshRetryPolicy();
// A response discarded for a retry is read to its end (keeping the connection) when this small.
const DISCARD_LIMIT_BYTES = 64 * 1024;

export interface AttemptCountOptions {
  includeAttemptCount: boolean;
  includeAttemptCountInResponse: boolean;
}

export class UpstreamRequest implements AttemptOwner, RouterState, StreamWatcher, WatermarkCallbacks {
  readonly stream: RouterStream;
  readonly cluster: UpstreamCluster;
  private readonly action: RouteAction;
  private readonly options: RouterOptions;
  private readonly counts: AttemptCountOptions;
  private readonly retry: RetryState | null;
  /** Body chunks not yet sent, or every chunk while the body can still be replayed. */
  readonly chunks: Buffer[] = [];
  private chunkBytes = 0;
  /** The body kept for a replay: the listener's buffer limit, or the route's smaller one. */
  private readonly bufferLimitBytes: number;
  /** Every chunk of the body is in `chunks` (within the buffer limit): it can be sent again. */
  replayable: boolean;
  requestEnded = false;
  trailers: HeaderMap | null = null;
  private shadowHeaders: HeaderMap | null = null;
  private attempt: Attempt | null = null;
  private attempts = 0;
  private previousHosts: Host[] = [];
  private timeoutMs = 0;
  private perTryTimeoutMs = 0;
  private globalTimer: NodeJS.Timeout | undefined;
  private backOffTimer: NodeJS.Timeout | undefined;
  private durationTimer: NodeJS.Timeout | undefined; // the cluster's max_stream_duration, per attempt
  private holdsRetry = false; // a max_retries slot is taken
  private responseStarted = false;
  private upgraded = false;
  private downstreamBackedUp = false;
  private done = false;

  constructor(stream: RouterStream, action: RouteAction, cluster: UpstreamCluster, options: RouterOptions, counts: AttemptCountOptions) {
    this.stream = stream;
    this.action = action;
    this.cluster = cluster;
    this.options = options;
    this.counts = counts;
    const policy = action.retryPolicy ?? (options.meshRetries ? MESH_RETRY_POLICY : undefined);
    this.perTryTimeoutMs = policy?.perTryTimeoutMs ?? 0;
    // An upgrade's bytes are a tunnel, never replayed.
    this.retry = stream.upgradeType === undefined ? RetryState.create(policy, stream.head.headers, stream.trustedDownstream) : null;
    this.replayable = stream.upgradeType === undefined;
    const routeLimit = stream.route?.route.model.perRequestBufferLimitBytes;
    this.bufferLimitBytes = routeLimit === undefined ? options.bufferLimitBytes : Math.min(options.bufferLimitBytes, routeLimit);
  }

  start(endStream: boolean): void {
    const stream = this.stream;
    const grpc = isGrpcRequest(stream.head);
    this.timeoutMs = this.routeTimeoutMs(grpc);
    this.perTryTimeoutMs = this.perTryTimeoutFor(this.timeoutMs);
    // What the upstream is told it has (Envoy's setTimeoutHeaders): the per-try timeout, else the route's.
    const expectedMs = this.perTryTimeoutMs > 0 ? this.perTryTimeoutMs : this.timeoutMs;
    if (expectedMs > 0 && stream.upgradeType === undefined && !this.suppressEnvoyHeaders) stream.head.headers['x-envoy-expected-rq-timeout-ms'] = String(expectedMs);
    setGrpcTimeoutHeader(this.action, stream.head.headers, grpc, expectedMs);
    if (this.action.requestMirrorPolicies.length > 0) this.shadowHeaders = { ...stream.head.headers };
    stream.onDestroy(this);
    stream.addWatermarkCallbacks(this);
    // Known before the first attempt: a pool with a free connection encodes the head at once.
    this.requestEnded = endStream;
    this.sendAttempt();
    if (endStream) this.onRequestEnd();
  }

  // ---- the request body, from the downstream ----

  decodeData(data: Buffer, endStream: boolean): void {
    // A tunnel whose upstream half-closed still carries the client's bytes.
    if (this.done && !this.upgraded) return;
    if (data.length > 0) {
      this.chunks.push(data);
      this.chunkBytes += data.length;
      // Past the buffer limit the body can no longer be replayed: retries and mirrors are given up
      // (Envoy's rule and its retry_or_shadow_abandoned count) and the body streams on.
      if (this.replayable && this.chunkBytes > this.bufferLimitBytes) {
        this.replayable = false;
        if (this.retry !== null || this.shadowHeaders !== null) this.cluster.stats.retryOrShadowAbandoned.inc();
      }
    }
    if (endStream) this.requestEnded = true;
    this.attempt?.sendBody();
    if (endStream) this.onRequestEnd();
  }

  decodeTrailers(trailers: HeaderMap): void {
    if (this.done && !this.upgraded) return;
    this.trailers = trailers;
    this.requestEnded = true;
    this.attempt?.sendBody();
    this.onRequestEnd();
  }

  /** Called by the attempt after it wrote the chunks: a body that cannot be replayed is let go. */
  bodySent(): void {
    if (this.replayable) return;
    this.chunks.length = 0;
    this.attempt?.bodyReleased();
  }

  private onRequestEnd(): void {
    this.requestEnded = true;
    if (this.done) return;
    // As Envoy, the route timeout runs from the end of the downstream request.
    if (this.timeoutMs > 0 && this.globalTimer === undefined && !this.upgraded) this.globalTimer = setTimeout(() => this.onGlobalTimeout(), this.timeoutMs);
    if (this.shadowHeaders !== null && this.replayable) {
      const body = this.chunks.length === 0 ? null : this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      sendShadows(this.action.requestMirrorPolicies, { method: this.stream.head.method, path: this.stream.head.path, headers: this.shadowHeaders, body, timeoutMs: this.timeoutMs }, this.options.clusters);
      this.shadowHeaders = null;
    }
  }

  /**
   * The route timeout (timeouts.ts), or from a trusted downstream x-envoy-upstream-rq-timeout-ms,
   * which Envoy reads and removes, or with respect_expected_rq_timeout the
   * x-envoy-expected-rq-timeout-ms an egress Envoy set, which takes precedence and stays.
   */
  private routeTimeoutMs(grpc: boolean): number {
    const headers = this.stream.head.headers;
    let timeout = routeTimeoutMs(this.action, headers, grpc);
    if (!this.stream.trustedDownstream) return timeout;
    const expected = headers['x-envoy-expected-rq-timeout-ms'];
    if (this.options.config?.respectExpectedRqTimeout === true && expected !== undefined) return headerMs(expected) ?? timeout;
    const upstream = headers['x-envoy-upstream-rq-timeout-ms'];
    if (upstream !== undefined) {
      delete headers['x-envoy-upstream-rq-timeout-ms'];
      timeout = headerMs(upstream) ?? timeout;
    }
    return timeout;
  }

  /**
   * The retry policy's per_try_timeout (it applies with or without retries, as in Envoy), or a
   * trusted x-envoy-upstream-rq-per-try-timeout-ms, read and removed; none when not shorter than
   * the route timeout.
   */
  private perTryTimeoutFor(routeTimeoutMs: number): number {
    const headers = this.stream.head.headers;
    let perTry = this.perTryTimeoutMs;
    const header = headers['x-envoy-upstream-rq-per-try-timeout-ms'];
    if (this.stream.trustedDownstream && header !== undefined) {
      delete headers['x-envoy-upstream-rq-per-try-timeout-ms'];
      perTry = headerMs(header) ?? perTry;
    }
    return routeTimeoutMs > 0 && perTry >= routeTimeoutMs ? 0 : perTry;
  }

  /** suppress_envoy_headers: the router adds no x-envoy-* headers of its own. */
  private get suppressEnvoyHeaders(): boolean {
    return this.options.config?.suppressEnvoyHeaders === true;
  }

  // ---- attempts ----

  private sendAttempt(fresh = false): void {
    if (this.done) return;
    const stream = this.stream;
    const cluster = this.cluster;
    const exclude = this.retry !== null && this.retry.avoidPreviousHosts && this.previousHosts.length > 0 ? (h: unknown) => this.previousHosts.includes(h as Host) : undefined;
    const host = cluster.chooseHost({ hash: stream.hashKey(), exclude, maxAttempts: this.retry?.hostSelectionMaxAttempts, downstreamLocalAddress: stream.info.downstreamLocalAddress, metadata: stream, filterState: stream.info.filterState });
    if (host === null) {
      cluster.stats.upstreamCxNone.inc();
      this.finishLocal(503, 'no healthy upstream', 'UH', 'no_healthy_upstream');
      return;
    }
    if (!cluster.breaker.admitRequest()) {
      this.finishLocal(503, failureReply('overflow').body, 'UO', 'upstream_reset_before_response_started{overflow}', this.overloadedHeaders());
      return;
    }
    if (!fresh) this.attempts++;
    this.previousHosts.push(host);
    const info = stream.info;
    info.upstreamCluster = cluster.config.name;
    info.upstreamHost = host.address;
    info.upstreamHostMetadata = host.metadata;
    info.attemptCount = this.attempts;
    const headers = stream.head.headers;
    if (this.counts.includeAttemptCount) headers['x-envoy-attempt-count'] = String(this.attempts);
    // As Envoy: only a host with a hostname (DNS clusters, endpoint.hostname) rewrites Host.
    if (this.action.autoHostRewrite && host.hostname !== '') headers.host = host.hostname;
    const attempt = new Attempt(this, host, this.perTryTimeoutMs);
    const span = stream.activeSpan;
    if (span != null) attempt.span = this.options.tracing?.startAttempt(span, headers, cluster.config.name, stream.route?.route.model, stream) ?? null;
    this.attempt = attempt;
    const maxMs = cluster.config.maxStreamDurationMs;
    if (maxMs > 0) {
      if (this.durationTimer !== undefined) clearTimeout(this.durationTimer);
      this.durationTimer = setTimeout(() => this.onMaxStreamDuration(attempt), maxMs);
    }
    attempt.start(fresh);
  }

  /** The attempt's connection is ready: the request head goes out, then whatever body is here. */
  sendHead(attempt: Attempt): void {
    attempt.encodeHead(this.stream.head, this.requestEnded && this.chunks.length === 0 && this.trailers === null);
  }

  /** An attempt got response headers. Returns false when they were discarded for a retry. */
  onResponseHeaders(attempt: Attempt, response: ResponseHeaders, endStream: boolean): boolean {
    if (this.done || attempt !== this.attempt) return false;
    this.releaseRetry();
    const status = response.status;
    if (this.retry !== null && this.retry.retriableResponse(status, response.headers) && this.canReplay() && this.tryRetry()) {
      const length = Number(response.headers['content-length']);
      // A small body is read and dropped so the keep-alive connection goes back to the pool.
      if (endStream || status === 204 || status === 304 || (length >= 0 && length <= DISCARD_LIMIT_BYTES)) attempt.discard();
      else attempt.abort();
      return false;
    }
    this.responseStarted = true;
    const cluster = this.cluster;
    if (this.attempts > 1 && status < 500) cluster.stats.upstreamRqRetrySuccess.inc();
    const headers = response.headers;
    const upgrade = status === 101 || (this.stream.upgradeType === 'connect' && status >= 200 && status < 300);
    if (upgrade) {
      // The tunnel is up: it lives until a side closes, past the route timeout.
      this.upgraded = true;
      this.clearGlobalTimer();
      const upgradeHeader = headers.upgrade;
      stripHopByHop(headers);
      if (status === 101) {
        headers.upgrade = upgradeHeader;
        headers.connection = 'upgrade';
      }
      this.options.stats.downstreamCxUpgradesTotal.inc();
      this.options.stats.downstreamCxUpgradesActive.add(1);
    } else {
      stripHopByHop(headers);
    }
    if (!this.suppressEnvoyHeaders) headers['x-envoy-upstream-service-time'] = String(Math.round(performance.now() - attempt.startMs));
    if (this.counts.includeAttemptCountInResponse) headers['x-envoy-attempt-count'] = String(this.attempts);
    this.stream.info.responseCodeDetails = 'via_upstream';
    if (endStream) this.complete(attempt);
    this.stream.encodeHeaders(response, endStream);
    return true;
  }

  onResponseData(attempt: Attempt, data: Buffer, endStream: boolean): void {
    if (this.done || attempt !== this.attempt) return;
    if (endStream) this.complete(attempt);
    this.stream.encodeData(data, endStream);
  }

  onResponseTrailers(attempt: Attempt, trailers: HeaderMap): void {
    if (this.done || attempt !== this.attempt) return;
    this.complete(attempt);
    this.stream.encodeTrailers(trailers);
  }

  private complete(attempt: Attempt): void {
    this.done = true;
    this.clearTimers();
    attempt.finish(true);
  }

  /** An attempt failed: before headers it may be retried or answered locally; after, the downstream is reset. */
  onAttemptError(attempt: Attempt, reason: ResetReason, resendable: boolean): void {
    if (this.done || attempt !== this.attempt) return;
    this.releaseRetry();
    if (this.responseStarted) {
      this.done = true;
      this.clearTimers();
      this.stream.info.setResponseFlag('UC');
      this.cluster.stats.upstreamRqRxReset.inc();
      this.stream.resetStream();
      return;
    }
    // A reused keep-alive connection the upstream had closed before any byte came back, or a
    // stream the upstream refused unprocessed (HTTP/2 REFUSED_STREAM, GOAWAY): the request goes
    // again on a fresh connection, once; it is not a retry.
    if (resendable && this.canReplay()) {
      this.attempt = null;
      this.sendAttempt(true);
      return;
    }
    if (this.retry !== null && this.retry.retriableReset(reason, attempt.requestStarted) && this.canReplay() && this.tryRetry()) return;
    const reply = failureReply(reason);
    this.finishLocal(reply.status, reply.body, reply.flag, reply.details, reason === 'overflow' ? this.overloadedHeaders() : undefined);
  }

  private canReplay(): boolean {
    return this.replayable;
  }

  /** Schedules a retry; when none is allowed it flags why: URX (no retries left) or UO (max_retries). */
  private tryRetry(): boolean {
    const retry = this.retry!;
    if (!retry.takeRetry()) {
      this.stream.info.setResponseFlag('URX');
      this.cluster.stats.upstreamRqRetryLimitExceeded.inc();
      return false;
    }
    if (!this.cluster.breaker.acquireRetry()) {
      this.stream.info.setResponseFlag('UO');
      return false;
    }
    this.holdsRetry = true;
    this.cluster.stats.upstreamRqRetry.inc();
    this.attempt = null;
    this.backOffTimer = setTimeout(() => {
      this.backOffTimer = undefined;
      this.sendAttempt();
    }, retry.backOffMs());
    return true;
  }

  /** As Envoy, a retry holds its circuit-breaker slot through the back-off and the retried attempt. */
  private releaseRetry(): void {
    if (!this.holdsRetry) return;
    this.holdsRetry = false;
    this.cluster.breaker.releaseRetry();
  }

  private onGlobalTimeout(): void {
    this.globalTimer = undefined;
    if (this.done) return;
    this.cluster.stats.upstreamRqTimeout.inc();
    const attempt = this.attempt;
    if (attempt !== null) {
      attempt.host.stats.rqTimeout++;
      attempt.abort(true);
    }
    this.attempt = null;
    if (this.responseStarted) {
      this.done = true;
      this.clearTimers();
      this.stream.info.setResponseFlag('UT');
      this.stream.resetStream();
      return;
    }
    this.finishLocal(504, 'upstream request timeout', 'UT', 'upstream_response_timeout');
  }

  /**
   * The cluster's max_stream_duration ended the attempt, as Envoy's onStreamMaxDurationReached:
   * 408 while the request is still arriving, else 504 (flag UMSDR), or a reset once the response
   * started.
   */
  private onMaxStreamDuration(attempt: Attempt): void {
    this.durationTimer = undefined;
    if (this.done || this.attempt !== attempt) return;
    this.cluster.stats.upstreamRqMaxDurationReached.inc();
    attempt.abort();
    this.attempt = null;
    if (this.responseStarted) {
      this.done = true;
      this.clearTimers();
      this.stream.info.setResponseFlag('UMSDR');
      this.stream.resetStream();
      return;
    }
    this.finishLocal(this.requestEnded ? 504 : 408, 'upstream max stream duration reached', 'UMSDR', 'upstream_max_stream_duration_reached');
  }

  /** A circuit breaker turned the request away: Envoy says so, unless suppress_envoy_headers. */
  private overloadedHeaders(): HeaderMap | undefined {
    return this.suppressEnvoyHeaders ? undefined : { 'x-envoy-overloaded': 'true' };
  }

  /** A local reply on the upstream's behalf; Envoy charges its code to the cluster (upstream_rq_503, _5xx). */
  private finishLocal(status: number, body: string, flag: string, details: string, headers?: HeaderMap): void {
    this.done = true;
    this.clearTimers();
    this.cluster.stats.recordResponse(status);
    this.stream.sendLocalReply(status, body, flag, details, headers);
  }

  private clearGlobalTimer(): void {
    if (this.globalTimer !== undefined) clearTimeout(this.globalTimer);
    this.globalTimer = undefined;
  }

  private clearTimers(): void {
    this.clearGlobalTimer();
    if (this.durationTimer !== undefined) clearTimeout(this.durationTimer);
    this.durationTimer = undefined;
    if (this.backOffTimer !== undefined) clearTimeout(this.backOffTimer);
    this.backOffTimer = undefined;
    this.releaseRetry();
  }

  // ---- the downstream's side ----

  /** The stream ended (completed, or the client went away, or a timeout): an attempt in flight is cancelled. */
  onStreamDestroy(): void {
    if (this.upgraded) this.options.stats.downstreamCxUpgradesActive.sub(1);
    if (this.done) {
      // A tunnel's upstream connection goes with its downstream.
      if (this.upgraded) this.attempt?.abort();
      return;
    }
    this.done = true;
    this.clearTimers();
    this.attempt?.abort();
    this.attempt = null;
    // The connection manager sets the flag: DC when the client left, SI/DT when a timeout ended it.
  }

  /** The downstream cannot take more: stop reading the upstream until it drains. */
  onAboveWriteBufferHighWatermark(): void {
    if (this.downstreamBackedUp || this.attempt === null) return;
    this.downstreamBackedUp = true;
    this.cluster.stats.upstreamFlowControlPausedReading.inc();
    this.attempt.readDisable(true);
  }

  onBelowWriteBufferLowWatermark(): void {
    if (!this.downstreamBackedUp) return;
    this.downstreamBackedUp = false;
    this.cluster.stats.upstreamFlowControlResumedReading.inc();
    this.attempt?.readDisable(false);
  }

  /** The upstream's write queue is full: stop reading the downstream body until it drains. */
  onUpstreamBackedUp(backedUp: boolean): void {
    const stats = this.options.stats;
    (backedUp ? stats.downstreamFlowControlPausedReading : stats.downstreamFlowControlResumedReading).inc();
    this.stream.readDisable(backedUp);
  }
}

/** A timeout header's milliseconds (digits only, as Envoy's SimpleAtoi on a uint64); undefined otherwise. */
function headerMs(value: string | string[]): number | undefined {
  return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : undefined;
}
