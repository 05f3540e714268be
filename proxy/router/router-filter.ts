// The router filter: the last HTTP filter. It answers direct responses and redirects, and for a
// route action picks the cluster and a host, runs the attempts through the host's pool with the
// route's timeouts and retry policy, and streams the upstream response back with back-pressure.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { RouteAction } from '../config/model.ts';
import type { StreamInfo } from '../access-log/index.ts';
import type { ClusterManager, UpstreamCluster, Host } from '../upstream/index.ts';
import { RetryState, meshRetryPolicy, type ResetReason } from './retry-state.ts';
import { failureReply, resetReasonOf } from './upstream-errors.ts';
import { sendShadows } from './mirror.ts';
import { stripHopByHop } from './hop-by-hop.ts';

/** What the router needs of the downstream stream (the HTTP connection manager implements it). */
export interface RouterStream {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The request headers as they will go upstream (hop-by-hop already removed); mutable. */
  readonly headers: IncomingHttpHeaders;
  /** Whether the request has a body (content-length > 0 or chunked), judged before hop-by-hop removal. */
  readonly requestHasBody: boolean;
  readonly path: string;
  readonly startMs: number;
  readonly trustedDownstream: boolean;
  readonly includeAttemptCount: boolean;
  readonly includeAttemptCountInResponse: boolean;
  hashKey(): number | undefined;
  localReply(status: number, body: string, flag: string, details: string, headers?: OutgoingHttpHeaders): void;
  /** Applies response header mutations and the server header; called once before writeHead. */
  prepareResponseHeaders(headers: OutgoingHttpHeaders, status: number): void;
  readonly info: StreamInfo;
  /** Called when the downstream goes away before the response finished. */
  onReset(cb: () => void): void;
  /** Resets the downstream stream from this side (the response cannot be completed). */
  resetDownstream(): void;
}

export interface RouterOptions {
  clusters: ClusterManager;
  meshRetries: boolean; // sidecar mode: routes without a policy retry 5xx three times
  bufferLimitBytes: number;
}

const MESH_RETRY_POLICY = meshRetryPolicy();

/** Sends the request to the cluster; false when there is no such cluster (answered 503 NC). */
export function routeToCluster(stream: RouterStream, action: RouteAction, clusterName: string, options: RouterOptions): boolean {
  const cluster = options.clusters.get(clusterName);
  if (cluster === undefined) {
    stream.localReply(503, '', 'NC', 'cluster_not_found');
    return false;
  }
  new UpstreamRequest(stream, action, cluster, options).start();
  return true;
}

/** The per-request state of one routed request across its attempts. */
class UpstreamRequest {
  private readonly stream: RouterStream;
  private readonly action: RouteAction;
  private readonly cluster: UpstreamCluster;
  private readonly retry: RetryState | null;
  private body: Buffer | Readable | null = null;
  private bodyPending: Promise<void> | null = null; // a replayable body still being read
  private noMoreRetries = false; // the body outgrew the replay buffer
  private attempt: Attempt | null = null;
  private attempts = 0;
  private previousHosts: Host[] = [];
  private globalTimer: NodeJS.Timeout | undefined;
  private backOffTimer: NodeJS.Timeout | undefined;
  private holdsRetry = false; // a max_retries slot is taken
  private responseStarted = false;
  private done = false;

  private readonly clusters: ClusterManager;

  constructor(stream: RouterStream, action: RouteAction, cluster: UpstreamCluster, options: RouterOptions) {
    this.stream = stream;
    this.action = action;
    this.cluster = cluster;
    this.clusters = options.clusters;
    const policy = action.retryPolicy ?? (options.meshRetries ? MESH_RETRY_POLICY : undefined);
    this.retry = RetryState.create(policy, stream.headers, stream.trustedDownstream);
    this.prepareBody(options.bufferLimitBytes);
  }

  start(): void {
    const timeoutMs = this.timeoutMs();
    if (timeoutMs > 0) {
      this.stream.headers['x-envoy-expected-rq-timeout-ms'] = String(timeoutMs);
      // As Envoy, the route timeout runs from the end of the downstream request.
      const arm = () => {
        if (!this.done) this.globalTimer = setTimeout(() => this.onGlobalTimeout(), timeoutMs);
      };
      const req = this.stream.req;
      if (req.complete || !this.stream.requestHasBody) arm();
      else req.once('end', arm);
    }
    this.stream.onReset(() => this.onDownstreamReset());
    if (this.bodyPending === null) this.firstAttempt();
    else this.bodyPending.then(() => this.firstAttempt(), () => this.onDownstreamReset());
  }

  private firstAttempt(): void {
    if (this.done) return;
    if (this.action.requestMirrorPolicies.length > 0 && (this.body === null || Buffer.isBuffer(this.body))) {
      const { req, path, headers } = this.stream;
      sendShadows(this.action.requestMirrorPolicies, { method: req.method ?? 'GET', path, headers, body: this.body, timeoutMs: this.timeoutMs() }, this.clusters);
    }
    this.sendAttempt();
  }

  /** A body is kept for replay (retries, shadows) when it may be sent again and fits the buffer limit. */
  private prepareBody(limit: number): void {
    if (!this.stream.requestHasBody) return;
    const req = this.stream.req;
    if (this.retry === null && this.action.requestMirrorPolicies.length === 0) {
      this.body = req;
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    this.bodyPending = new Promise((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size > limit) {
          // Too large to replay: stream what we have and the rest, without retries.
          req.off('data', onData);
          req.off('end', onEnd);
          req.pause();
          this.body = Readable.from(concatStreams(chunks, req));
          this.noMoreRetries = true;
          resolve();
        }
      };
      const onEnd = () => {
        this.body = Buffer.concat(chunks, size);
        this.stream.info.bytesReceived = size;
        resolve();
      };
      req.on('data', onData);
      req.once('end', onEnd);
      req.once('error', reject);
    });
  }

  private timeoutMs(): number {
    if (this.stream.trustedDownstream) {
      const h = this.stream.headers['x-envoy-upstream-rq-timeout-ms'];
      if (h !== undefined && /^\d+$/.test(String(h))) return Number(h);
    }
    return this.action.timeoutMs;
  }

  private sendAttempt(): void {
    if (this.done) return;
    const exclude = this.retry !== null && this.retry.avoidPreviousHosts && this.previousHosts.length > 0 ? (h: unknown) => this.previousHosts.includes(h as Host) : undefined;
    const host = this.cluster.chooseHost({ hash: this.stream.hashKey(), exclude, maxAttempts: this.retry?.hostSelectionMaxAttempts, downstreamLocalAddress: this.stream.info.downstreamLocalAddress });
    if (host === null) {
      this.cluster.stats.upstreamCxNone.inc();
      this.finishLocal(503, 'no healthy upstream', 'UH', 'no_healthy_upstream');
      return;
    }
    const pool = this.cluster.pool(host);
    if (!this.cluster.breaker.admitRequest(() => pool.stats.free > 0)) {
      this.finishLocal(503, failureReply('overflow').body, 'UO', 'upstream_reset_before_response_started{overflow}', { 'x-envoy-overloaded': 'true' });
      return;
    }
    this.attempts++;
    this.previousHosts.push(host);
    this.stream.info.upstreamCluster = this.cluster.config.name;
    this.stream.info.upstreamHost = host.address;
    this.stream.info.attemptCount = this.attempts;
    if (this.stream.includeAttemptCount) this.stream.headers['x-envoy-attempt-count'] = String(this.attempts);
    // As Envoy: only a host with a hostname (DNS clusters, endpoint.hostname) rewrites Host.
    if (this.action.autoHostRewrite && host.hostname !== '') this.stream.headers.host = host.hostname;
    const attempt = new Attempt(this, host, this.retry?.perTryTimeoutMs ?? 0);
    this.attempt = attempt;
    attempt.dispatch(this.cluster, {
      path: this.stream.path,
      method: this.stream.req.method ?? 'GET',
      headers: this.stream.headers as Record<string, string | string[]>,
      body: this.body,
    });
  }

  /** An attempt got response headers. Returns false when it was discarded for a retry. */
  onResponseStart(attempt: Attempt, status: number, headers: IncomingHttpHeaders): boolean {
    if (this.done || attempt !== this.attempt) return false;
    this.releaseRetry();
    if (this.retry !== null && this.retry.retriableResponse(status, headers) && this.canReplay()) {
      if (this.tryRetry()) return false;
    }
    this.responseStarted = true;
    if (this.attempts > 1 && status < 500) this.cluster.stats.upstreamRqRetrySuccess.inc();
    const out: OutgoingHttpHeaders = {};
    for (const name in headers) out[name] = headers[name];
    stripHopByHop(out);
    out['x-envoy-upstream-service-time'] = String(Math.round(performance.now() - attempt.startMs));
    if (this.stream.includeAttemptCountInResponse) out['x-envoy-attempt-count'] = String(this.attempts);
    this.stream.prepareResponseHeaders(out, status);
    this.stream.res.writeHead(status, out);
    return true;
  }

  onResponseData(chunk: Buffer, attempt: Attempt): boolean {
    if (this.done || attempt !== this.attempt) return true;
    this.stream.info.bytesSent += chunk.length;
    return this.stream.res.write(chunk);
  }

  /** Resumes the upstream once the downstream socket drained (back-pressure). */
  waitDrain(resume: () => void): void {
    this.stream.res.once('drain', resume);
  }

  onResponseEnd(attempt: Attempt, trailers: IncomingHttpHeaders): void {
    if (this.done || attempt !== this.attempt) return;
    this.clearTimers();
    this.done = true;
    const res = this.stream.res;
    if (Object.keys(trailers).length > 0 && res.chunkedEncoding) res.addTrailers(trailers as OutgoingHttpHeaders);
    res.end();
  }

  /** An attempt failed: before headers it may be retried or answered locally; after, the downstream is reset. */
  onAttemptError(attempt: Attempt, reason: ResetReason): void {
    if (this.done || attempt !== this.attempt) return;
    this.releaseRetry();
    if (this.responseStarted) {
      this.clearTimers();
      this.done = true;
      this.stream.info.setResponseFlag('UC');
      this.cluster.stats.upstreamRqRxReset.inc();
      this.stream.resetDownstream();
      return;
    }
    if (reason === 'per-try-timeout') this.cluster.stats.upstreamRqPerTryTimeout.inc();
    if (this.retry !== null && this.retry.retriableReset(reason) && this.canReplay()) {
      if (this.tryRetry()) return;
    }
    const reply = failureReply(reason);
    this.finishLocal(reply.status, reply.body, reply.flag, reply.details);
  }

  private canReplay(): boolean {
    return !this.noMoreRetries && (this.body === null || Buffer.isBuffer(this.body));
  }

  /** Schedules a retry; when none is allowed it flags why: URX (no retries left) or UO (max_retries). */
  private tryRetry(): boolean {
    if (this.retry === null) return false;
    if (!this.retry.takeRetry()) {
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
    }, this.retry.backOffMs());
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
    if (this.attempt !== null) this.attempt.host.stats.rqTimeout++;
    this.attempt?.abort(true);
    this.attempt = null;
    if (this.responseStarted) {
      this.done = true;
      this.clearTimers();
      this.stream.info.setResponseFlag('UT');
      this.stream.resetDownstream();
      return;
    }
    this.finishLocal(504, 'upstream request timeout', 'UT', 'upstream_response_timeout');
  }

  private onDownstreamReset(): void {
    if (this.done) return;
    this.done = true;
    this.clearTimers();
    this.attempt?.abort();
    this.attempt = null;
    // The connection manager sets the flag: DC when the client left, SI/DT when a timeout ended it.
  }

  /** A local reply on the upstream's behalf; Envoy charges its code to the cluster (upstream_rq_503, _5xx). */
  private finishLocal(status: number, body: string, flag: string, details: string, headers?: OutgoingHttpHeaders): void {
    this.done = true;
    this.clearTimers();
    this.cluster.stats.recordResponse(status);
    this.stream.localReply(status, body, flag, details, headers);
  }

  private clearTimers(): void {
    if (this.globalTimer !== undefined) clearTimeout(this.globalTimer);
    if (this.backOffTimer !== undefined) clearTimeout(this.backOffTimer);
    this.releaseRetry();
    this.globalTimer = undefined;
    this.backOffTimer = undefined;
  }
}

const DISCARD_LIMIT_BYTES = 64 * 1024;

/** One attempt on one host: an undici dispatch handler. */
class Attempt implements Dispatcher.DispatchHandler {
  readonly startMs = performance.now();
  private readonly owner: UpstreamRequest;
  readonly host: Host;
  private cluster: UpstreamCluster | null = null;
  private controller: Dispatcher.DispatchController | null = null;
  private perTryTimer: NodeJS.Timeout | undefined;
  private readonly perTryTimeoutMs: number;
  private aborted = false;
  private ended = false;
  private pending = false; // waiting for a connection (max_pending_requests)
  private discarding = false; // answered, but a retry replaced it: its body is read and dropped
  private status = 0;

  constructor(owner: UpstreamRequest, host: Host, perTryTimeoutMs: number) {
    this.owner = owner;
    this.host = host;
    this.perTryTimeoutMs = perTryTimeoutMs;
  }

  dispatch(cluster: UpstreamCluster, options: { path: string; method: string; headers: Record<string, string | string[]>; body: Buffer | Readable | null }): void {
    this.cluster = cluster;
    cluster.stats.upstreamRqTotal.inc();
    cluster.stats.upstreamRqActive.add(1);
    this.host.activeRequests++;
    this.host.stats.rqTotal++;
    this.host.stats.rqActive++;
    if (this.perTryTimeoutMs > 0) this.perTryTimer = setTimeout(() => this.onPerTryTimeout(), this.perTryTimeoutMs);
    cluster.pool(this.host).dispatch(options, this); // header/body timeouts are off in the pool: the router times
    // undici starts the request at once on a free connection; otherwise it waits in the pool.
    if (this.controller === null && !this.ended) {
      this.pending = true;
      cluster.breaker.requestPending();
    }
  }

  /** Cancels the attempt; a route timeout counts as the host's timeout for outlier detection. */
  abort(timedOut = false): void {
    if (this.aborted || this.ended) return;
    if (timedOut && this.status === 0) this.cluster!.outlier?.putLocalOrigin(this.host.address, 'timeout');
    this.aborted = true;
    this.controller?.abort(new Error('attempt cancelled'));
    this.finish(false);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.aborted) {
      controller.abort(new Error('attempt cancelled'));
      return;
    }
    this.leavePending();
    this.cluster!.outlier?.putLocalOrigin(this.host.address, 'connect-success');
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (this.aborted) return;
    this.status = statusCode;
    // Before the owner decides on a retry, so an ejection already steers the retry elsewhere.
    this.cluster!.outlier?.putHttpStatus(this.host.address, statusCode);
    if (this.perTryTimer !== undefined) {
      clearTimeout(this.perTryTimer);
      this.perTryTimer = undefined;
    }
    if (!this.owner.onResponseStart(this, statusCode, headers)) {
      // Discarded for a retry. A small body is read to its end and dropped, so the keep-alive
      // connection goes back to the pool; anything else would cost a reset and a new connection.
      const length = Number(headers['content-length']);
      if (statusCode === 204 || statusCode === 304 || (length >= 0 && length <= DISCARD_LIMIT_BYTES)) {
        this.discarding = true;
        return;
      }
      this.aborted = true;
      controller.abort(new Error('retrying'));
      this.finish(false);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.aborted || this.discarding) return;
    if (!this.owner.onResponseData(chunk, this)) {
      controller.pause();
      this.owner.waitDrain(() => controller.resume());
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    if (this.aborted) return;
    this.finish(true);
    if (!this.discarding) this.owner.onResponseEnd(this, trailers);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.finish(false);
    if (this.discarding) return;
    this.cluster!.outlier?.putLocalOrigin(this.host.address, 'connect-failed'); // Envoy counts resets alike
    this.owner.onAttemptError(this, resetReasonOf(error));
  }

  private onPerTryTimeout(): void {
    this.perTryTimer = undefined;
    if (this.aborted || this.ended) return;
    this.host.stats.rqTimeout++;
    this.aborted = true;
    this.controller?.abort(new Error('per try timeout'));
    this.finish(false);
    this.cluster!.outlier?.putLocalOrigin(this.host.address, 'timeout');
    this.owner.onAttemptError(this, 'per-try-timeout');
  }

  private finish(completed: boolean): void {
    if (this.ended) return;
    this.ended = true;
    if (this.perTryTimer !== undefined) clearTimeout(this.perTryTimer);
    const cluster = this.cluster!;
    this.leavePending();
    cluster.breaker.requestDone();
    cluster.stats.upstreamRqActive.sub(1);
    this.host.activeRequests--;
    this.host.stats.rqActive--;
    if (completed) {
      cluster.stats.recordResponse(this.status);
      cluster.stats.upstreamRqTime.record(performance.now() - this.startMs);
      if (this.status >= 500) this.host.stats.rqError++;
      else this.host.stats.rqSuccess++;
    } else {
      this.host.stats.rqError++;
    }
  }

  private leavePending(): void {
    if (!this.pending) return;
    this.pending = false;
    this.cluster!.breaker.pendingDone();
  }
}


async function* concatStreams(head: Buffer[], rest: IncomingMessage): AsyncGenerator<Buffer> {
  yield* head;
  for await (const chunk of rest) yield chunk as Buffer;
}
