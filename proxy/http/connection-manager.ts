// Envoy's HTTP connection manager for one filter chain: it puts a codec on each connection it is
// given and runs each request through route lookup and the HTTP filters, the router last. The
// route table is looked up by name per request, so an RDS update applies to the next request on
// every connection. Upgrades and CONNECT are streams like any other.
import type { Socket } from 'node:net';
import type { HttpConnectionManager, RouterConfig } from '../config/model.ts';
import type { ResponseHeaders } from '../codec/index.ts';
import type { HttpFilter } from '../http-filter/index.ts';
import type { ConnectionFacts, ChainHandler } from '../listener/index.ts';
import { createAccessLogger, StreamInfo, type AccessLogger } from '../access-log/index.ts';
import type { RateLimitService } from '../ratelimit/index.ts';
import type { Counter, Gauge, Store } from '../stats/index.ts';
import type { ClusterManager } from '../upstream/index.ts';
import { GrpcStatus, isGrpcRequest } from '../grpc/index.ts';
import { RouterFilter, streamDuration, type RouteRequest, type RouteTable } from '../router/index.ts';
import { createHttpFilters, type FilterNode } from './filters/index.ts';
import { dynamicMetadataValue } from './filters/dynamic-metadata.ts';
import { HcmStats } from './hcm-stats.ts';
import { dateHeader } from './date-header.ts';
import { DownstreamConnection } from './downstream-connection.ts';
import { Http2DownstreamConnection } from './http2-downstream-connection.ts';
import type { Http2CodecStats, UnderscorePolicy } from '../codec/index.ts';
import { compileDownstreamAddressConfig, type DownstreamAddressConfig } from './downstream-address.ts';
import { prepareRequestHeaders } from './request-headers.ts';
import { hasEscapedSlashes, normalizeRequestPath, unescapeSlashes } from './path-normalization.ts';
import type { HttpStream } from './stream.ts';
import { upgradeEnabled, upgradeTypeOf } from './upgrade.ts';
import { setWriteBufferLimit, tlsInfo } from '../transport/index.ts';
import { HttpTracing, type HttpTracingContext } from '../tracing/index.ts';
import { IDLE_ACTION, UNSCALED, type OverloadAction, type OverloadManager } from '../overload/index.ts';
import type { WorkloadLookup } from '../istio/workload-index.ts';
import { LiveList } from '../collections/live-list.ts';

export interface HcmContext {
  store: Store;
  clusters: ClusterManager;
  routeTable(name: string): RouteTable<StreamInfo> | undefined;
  meshRetries: boolean;
  log(line: string): void;
  /** What the HTTP filters need from the process: see FilterContext. */
  workers: number;
  localCluster: string;
  rateLimitService?: RateLimitService;
  /** The process's overload manager: stop_accepting_requests, disable_http_keepalive, reduce_timeouts. */
  overload?: OverloadManager;
  /** The bootstrap's node, for Istio's filters. */
  node?: FilterNode;
  /** Istio's workload discovery, for the peer metadata filter's workload_discovery. */
  workloads?: WorkloadLookup;
  /** The server fails health checks (admin /healthcheck/fail): responses close their connections, as Envoy's drain decision. */
  healthCheckFailed?(): boolean;
  /** The listener's drain_type: MODIFY_ONLY connections are not drain-closed while failing health checks. */
  drainType?: 'MODIFY_ONLY';
  /** Node facts and the bootstrap's tracer, for connection managers with `tracing`. */
  tracing?: Omit<HttpTracingContext, 'clusters' | 'store' | 'localCluster' | 'requestMetadata'>;
}

const ROUTER_TYPE = 'envoy.extensions.filters.http.router.v3.Router';

export class HttpConnectionManagerHandler implements ChainHandler {
  readonly config: HttpConnectionManager;
  readonly stats: HcmStats;
  readonly ctx: HcmContext;
  /** The HTTP filters in order, the router last. */
  readonly filters: HttpFilter<HttpStream>[];
  /** The listener's per_connection_buffer_limit_bytes: what a stream buffers before it stops reading. */
  readonly bufferLimitBytes: number;
  /** null unless the connection manager has `tracing` and a tracer: then a span per request. */
  readonly tracing: HttpTracing | null;
  private readonly accessLoggers: AccessLogger[];
  private readonly completionFilters: HttpFilter<HttpStream>[]; // the filters with onStreamComplete
  private readonly addressConfig: DownstreamAddressConfig;
  private readonly connections = new LiveList<DownstreamConnection | Http2DownstreamConnection>();
  private http2StatsMade: Http2CodecStats | undefined = undefined;
  private readonly underscorePolicies: [http1: UnderscorePolicy, http2: UnderscorePolicy] | undefined;
  private draining = false;
  private idleSweep: NodeJS.Timeout | undefined;
  private readonly stopAcceptingRequests: OverloadAction;
  private readonly disableKeepalive: OverloadAction;
  private readonly overloadClose: Counter;
  private readonly overloadDisableKeepalive: Counter;

  constructor(config: HttpConnectionManager, ctx: HcmContext) {
    this.config = config;
    this.ctx = ctx;
    this.bufferLimitBytes = config.bufferLimitBytes;
    this.stats = new HcmStats(ctx.store, config.statPrefix);
    const routerConfig = config.httpFilters.find((f) => f.type === ROUTER_TYPE)?.config as RouterConfig | undefined;
    this.tracing = HttpTracing.create(config.tracing, config.statPrefix, {
      nodeId: '', zone: '', ...ctx.tracing, clusters: ctx.clusters, store: ctx.store, localCluster: ctx.localCluster,
      requestMetadata: (stream, filter, key) => dynamicMetadataValue(stream as HttpStream, filter, key),
    });
    const router = new RouterFilter({ clusters: ctx.clusters, config: routerConfig, meshRetries: ctx.meshRetries, bufferLimitBytes: config.bufferLimitBytes, stats: this.stats, tracing: this.tracing });
    this.filters = [
      ...createHttpFilters(config.httpFilters, {
        store: ctx.store,
        statPrefix: config.statPrefix,
        log: ctx.log,
        workers: ctx.workers,
        localCluster: ctx.localCluster,
        rateLimitService: ctx.rateLimitService,
        clusters: ctx.clusters,
        node: ctx.node,
        workloads: ctx.workloads,
        routeTable: () => ctx.routeTable(config.routeConfigName),
        healthCheckFailed: () => ctx.healthCheckFailed?.() ?? false,
        clusterStatName: (name) => {
          const cluster = ctx.clusters.get(name)?.config;
          return cluster === undefined ? undefined : cluster.altStatName || cluster.name;
        },
      }),
      router,
    ];
    this.accessLoggers = config.accessLog.map((a) => createAccessLogger(a));
    this.completionFilters = this.filters.filter((f) => f.onStreamComplete !== undefined);
    this.addressConfig = compileDownstreamAddressConfig(config);
    this.stopAcceptingRequests = ctx.overload?.stopAcceptingRequests ?? IDLE_ACTION;
    this.disableKeepalive = ctx.overload?.disableHttpKeepalive ?? IDLE_ACTION;
    this.overloadClose = ctx.store.counter(`http.${config.statPrefix}.downstream_rq_overload_close`);
    this.overloadDisableKeepalive = ctx.store.counter(`http.${config.statPrefix}.downstream_cx_overload_disable_keepalive`);
    const action = config.headersWithUnderscoresAction;
    if (action !== 'ALLOW') {
      // Envoy counts these among its codec stats: http1.* and http2.*.
      const policy = (codec: string): UnderscorePolicy => ({
        action,
        dropped: ctx.store.counter(`${codec}.dropped_headers_with_underscores`),
        rejected: ctx.store.counter(`${codec}.requests_rejected_with_underscores_in_headers`),
      });
      this.underscorePolicies = [policy('http1'), policy('http2')];
    }
  }

  /** headers_with_underscores_action for a codec; undefined when underscores are allowed. */
  underscores(http2: boolean): UnderscorePolicy | undefined {
    return this.underscorePolicies?.[http2 ? 1 : 0];
  }

  /** Envoy roots the downstream HTTP/2 codec's counters at http2.*, made with the first HTTP/2 connection. */
  private get http2Stats(): Http2CodecStats {
    if (this.http2StatsMade !== undefined) return this.http2StatsMade;
    const c = (n: string) => this.ctx.store.counter(`http2.${n}`);
    return (this.http2StatsMade = {
      rxReset: c('rx_reset'), txReset: c('tx_reset'), goawaySent: c('goaway_sent'), keepaliveTimeout: c('keepalive_timeout'),
      outboundControlFlood: c('outbound_control_flood'), headerOverflow: c('header_overflow'), txFlushTimeout: c('tx_flush_timeout'), protocolError: this.stats.downstreamCxProtocolError,
    });
  }

  onConnection(socket: Socket, facts: ConnectionFacts): void {
    const stats = this.stats;
    stats.downstreamCxTotal.inc();
    stats.downstreamCxActive.add(1);
    const codecType = this.config.codecType;
    // HTTP/2 by configuration or by ALPN; AUTO otherwise: the HTTP/1 codec reads the first bytes
    // and hands HTTP/2's client preface on (DownstreamConnection.onChosen).
    if (codecType === 'HTTP1') this.serve(socket, facts, 'http1');
    else if (codecType === 'HTTP2' || (socket as { alpnProtocol?: string | false }).alpnProtocol === 'h2') this.serve(socket, facts, 'http2');
    else this.serve(socket, facts, 'auto');
  }

  private serve(socket: Socket, facts: ConnectionFacts, codec: 'http1' | 'http2' | 'auto'): void {
    const stats = this.stats;
    const http2 = codec === 'http2';
    // Past the listener's buffer limit a response pauses its upstream (HTTP/1; HTTP/2 per stream).
    if (!http2) setWriteBufferLimit(socket, this.config.bufferLimitBytes);
    const connection = http2 ? new Http2DownstreamConnection(this, socket, facts, this.http2Stats) : new DownstreamConnection(this, socket, facts, codec === 'auto');
    const entry = this.connections.add(connection);
    // The codec's connection stats count from its choice (AUTO: the first read), as Envoy's do.
    let active: Gauge | undefined;
    const chosen = (h2: boolean): void => {
      (h2 ? stats.downstreamCxHttp2Total : stats.downstreamCxHttp1Total).inc();
      active = h2 ? stats.downstreamCxHttp2Active : stats.downstreamCxHttp1Active;
      active.add(1);
    };
    // max_connection_duration: the connection drains (Connection: close on HTTP/1, GOAWAY on HTTP/2).
    const maxMs = this.config.maxConnectionDurationMs;
    const timer = maxMs > 0
      ? setTimeout(() => {
        stats.downstreamCxMaxDurationReached.inc();
        connection.drain(this.config.drainTimeoutMs);
      }, maxMs).unref()
      : undefined;
    const onClose = (): void => {
      clearTimeout(timer);
      this.connections.delete(entry);
      stats.downstreamCxActive.sub(1);
      active?.sub(1);
      stats.downstreamCxRxBytesTotal.inc(socket.bytesRead);
      stats.downstreamCxTxBytesTotal.inc(socket.bytesWritten);
      if (connection.busy) stats.downstreamCxDestroyRemoteActiveRq.inc();
    };
    socket.on('close', onClose); // fires once: `once` would cost two more objects a connection
    if (connection instanceof DownstreamConnection && codec === 'auto') {
      connection.onChosen = (http2Bytes) => {
        if (http2Bytes === null) {
          chosen(false);
          return;
        }
        // HTTP/2 with prior knowledge: the HTTP/1 codec has let go; the socket starts over on HTTP/2.
        clearTimeout(timer);
        this.connections.delete(entry);
        socket.removeListener('close', onClose);
        // Paused, so a listener filter's resume() cannot flow the bytes away before node:http2 reads them.
        socket.pause();
        socket.unshift(http2Bytes);
        this.serve(socket, facts, 'http2');
      };
    } else {
      chosen(http2);
    }
    if (this.draining) connection.drain();
    else this.armIdleSweep();
  }

  /** Idle connections close now, busy ones after their response (Connection: close). */
  drain(): void {
    this.draining = true;
    for (const connection of this.connections) connection.drain();
  }

  // Envoy's connection idle_timeout, checked by one sweep per connection manager instead of a
  // timer per connection or per request: a connection with no stream for that long is closed.
  private armIdleSweep(): void {
    const configuredMs = this.config.idleTimeoutMs;
    if (configuredMs <= 0 || this.idleSweep !== undefined) return;
    const timers = this.ctx.overload?.timers ?? UNSCALED;
    const period = Math.min(1000, Math.max(25, configuredMs / 4));
    this.idleSweep = setInterval(() => {
      if (this.connections.size === 0) {
        clearInterval(this.idleSweep);
        this.idleSweep = undefined;
        return;
      }
      const now = performance.now();
      // reduce_timeouts shortens the idle timeout while the overload manager says so.
      const idleMs = timers.scaled('HTTP_DOWNSTREAM_CONNECTION_IDLE', configuredMs);
      for (const connection of this.connections) {
        if (connection.busy || now - connection.idleSince < idleMs) continue;
        // HTTP/2 says GOAWAY first, so a stream the client is opening is refused, not cut.
        if (connection instanceof Http2DownstreamConnection) connection.drain(this.config.drainTimeoutMs);
        else connection.close();
      }
    }, period);
    this.idleSweep.unref();
  }

  streamIdleTimeoutMs(): number {
    return (this.ctx.overload?.timers ?? UNSCALED).scaled('HTTP_DOWNSTREAM_STREAM_IDLE', this.config.streamIdleTimeoutMs);
  }

  /** A request began (the codec saw its first byte). */
  onNewStream(stream: HttpStream, http2 = false): void {
    const stats = this.stats;
    stats.downstreamRqTotal.inc();
    (http2 ? stats.downstreamRqHttp2Total : stats.downstreamRqHttp1Total).inc();
    stats.downstreamRqActive.add(1);
    // max_requests_per_connection: the request that reaches it is the connection's last.
    const maxRequests = this.config.maxRequestsPerConnection;
    if (maxRequests > 0 && ++stream.connection.requestCount >= maxRequests) {
      stats.downstreamCxMaxRequestsReached.inc();
      stream.connection.drain(this.config.drainTimeoutMs);
    }
    const info = stream.info;
    info.downstreamRemoteAddress = stream.connection.remoteAddress;
    info.downstreamDirectRemoteAddress = info.downstreamRemoteAddress;
    info.downstreamLocalAddress = stream.connection.localAddress;
    info.filterState = stream.connection.facts?.filterState;
    info.protocol = http2 ? 'HTTP/2' : 'HTTP/1.1';
    const tls = tlsInfo(stream.connection.socket);
    if (tls !== undefined) {
      info.downstreamTlsVersion = tls.version;
      info.downstreamPeerUriSan = tls.peerUriSans.join(',');
      info.downstreamLocalCertificate = tls;
      info.downstreamPeerSubject = tls.peerSubject;
      if (tls.serverName !== '') info.requestedServerName = tls.serverName;
    }
  }

  /** The request's headers are in: fill the stream info, prepare the headers, find the route. */
  onRequestHeaders(stream: HttpStream): void {
    // stop_accepting_requests: before anything else, as Envoy (all requests when saturated, a share when scaled).
    if (this.stopAcceptingRequests.scale > 0 && this.stopAcceptingRequests.shed()) {
      this.overloadClose.inc();
      stream.sendLocalReply(503, 'envoy overloaded', 'OM', 'overload');
      return;
    }
    const head = stream.head;
    const headers = head.headers;
    const config = this.config;
    // Escaped slashes first, then normalization, as Envoy orders them.
    const escapedAction = config.pathWithEscapedSlashesAction;
    const escaped = escapedAction !== 'KEEP_UNCHANGED' && head.method !== 'CONNECT' && hasEscapedSlashes(head.path);
    if (escaped) {
      if (escapedAction === 'REJECT_REQUEST') {
        this.stats.downstreamRqFailedPathNormalization.inc();
        stream.sendLocalReply(400, '', '', 'path_normalization_failed');
        return;
      }
      head.path = unescapeSlashes(head.path);
    }
    if (config.normalizePath || config.mergeSlashes) head.path = normalizeRequestPath(head.path, config.normalizePath, config.mergeSlashes);
    if (escaped && escapedAction === 'UNESCAPE_AND_REDIRECT') {
      // gRPC cannot follow a redirect: Envoy answers it with INTERNAL (the local reply maps 400 so).
      this.stats.downstreamRqRedirectedWithNormalizedPath.inc();
      const grpc = String(head.headers['content-type'] ?? '').startsWith('application/grpc');
      stream.sendLocalReply(grpc ? 400 : 307, '', '', 'path_normalization_redirect', grpc ? undefined : { location: head.path });
      return;
    }
    const upgradeType = upgradeTypeOf(head);
    stream.upgradeType = upgradeType;
    const connect = head.method === 'CONNECT';
    // A CONNECT names its target as the authority and has no path (Envoy matches it with connect_matcher).
    const request: RouteRequest = {
      authority: connect ? head.path : typeof headers.host === 'string' ? headers.host : '',
      path: connect ? '' : head.path,
      method: head.method,
      scheme: head.scheme,
      headers,
    };
    stream.request = request;
    const info = stream.info;
    info.protocol = head.protocol;
    info.method = head.method;
    info.path = request.path;
    info.authority = request.authority;
    info.scheme = head.scheme;
    info.requestHeaders = headers;

    // Envoy answers 100-continue itself (proxy_100_continue off) and drops the Expect header.
    if (headers.expect !== undefined) {
      if (String(headers.expect).toLowerCase() === '100-continue') stream.encode1xxHeaders({ status: 100, headers: {} });
      delete headers.expect;
    }
    prepareRequestHeaders(stream, config, this.addressConfig);

    const table = this.ctx.routeTable(config.routeConfigName);
    const result = table?.route(request);
    const matched = result == null || result.route === null ? null : result;
    if (this.tracing !== null) stream.activeSpan = this.tracing.startRequest(headers, info, matched?.route.model);
    if (upgradeType !== undefined) {
      const action = matched?.route.model.action;
      if (!upgradeEnabled(upgradeType, config.upgradeConfigs, action?.kind === 'route' ? action.upgradeConfigs : undefined)) {
        this.stats.downstreamRqWsOnNonWsRoute.inc();
        stream.sendLocalReply(403, '', '', 'upgrade_failed');
        return;
      }
    }
    // No route: the filters still run (a health check filter answers), then the router's 404 NR, as Envoy's.
    if (matched === null) return;
    stream.route = matched;
    info.routeName = matched.route.name;
    const action = matched.route.model.action;
    // As Envoy's route entry: the weighted cluster is chosen once, so filters and router agree.
    if (action.kind === 'route') {
      stream.cluster = matched.route.pickCluster(request);
      if (action.idleTimeoutMs > 0) stream.connection.setStreamIdleTimeout(action.idleTimeoutMs);
    }
    // max_stream_duration (route, else HCM) or a gRPC request's grpc-timeout: see router/timeouts.ts.
    const duration = streamDuration(action.kind === 'route' ? action : undefined, config.maxStreamDurationMs, headers, isGrpcRequest(head));
    if (duration !== undefined) {
      // As Envoy, the limit counts from the start of the stream; a gRPC client hears DEADLINE_EXCEEDED.
      stream.armDurationTimer(Math.max(0, duration.ms - stream.info.elapsedMs()), () => {
        this.stats.downstreamRqMaxDurationReached.inc();
        if (duration.source === 'route') this.expireStream(stream, 'UMSDR', 'upstream max stream duration reached', 'upstream_max_stream_duration_reached', GrpcStatus.DeadlineExceeded);
        else this.expireStream(stream, 'DT', 'downstream duration timeout', 'max_duration_timeout', GrpcStatus.DeadlineExceeded);
      });
    }
  }

  /** A stream timeout: 408 with the flag, or a reset once the response started. */
  expireStream(stream: HttpStream, flag: string, body: string, details: string, grpcStatus?: number): void {
    if (stream.ended) return;
    if (stream.responseStarted) {
      stream.info.setResponseFlag(flag);
      stream.resetStream();
      return;
    }
    stream.sendLocalReply(408, body, flag, details, undefined, grpcStatus);
  }

  /** Response header mutations of the route, the server and date headers, Connection: close while draining. */
  finishResponseHeaders(stream: HttpStream, response: ResponseHeaders): void {
    const headers = response.headers;
    const route = stream.route;
    if (route !== null) route.route.mutations(stream.cluster?.weighted).applyResponse(headers, stream.info);
    if (stream.activeSpan !== null) this.tracing!.onResponseHeaders(stream.activeSpan, headers, route?.route.model);
    // Envoy's setInResponse: the request id goes back when asked, or to a forced trace (an internal caller's).
    const requestHeaders = stream.head.headers;
    if ((this.config.alwaysSetRequestIdInResponse || requestHeaders['x-envoy-force-trace'] !== undefined) && requestHeaders['x-request-id'] !== undefined) {
      headers['x-request-id'] = requestHeaders['x-request-id'];
    }
    const transform = this.config.serverHeaderTransformation;
    if (transform === 'OVERWRITE' || (transform === 'APPEND_IF_ABSENT' && headers.server === undefined)) headers.server = this.config.serverName;
    headers.date = dateHeader();
    if (this.draining) headers.connection = 'close';
    else if (this.ctx.drainType === undefined && this.ctx.healthCheckFailed?.() === true) {
      // Envoy drain-closes every connection while failing health checks: the caller moves on.
      if (stream.connection instanceof Http2DownstreamConnection) stream.connection.drain();
      else headers.connection = 'close';
    } else if (this.disableKeepalive.scale > 0 && this.disableKeepalive.shed()) {
      // disable_http_keepalive: HTTP/1 closes after this response; HTTP/2 says GOAWAY (streams in flight finish).
      this.overloadDisableKeepalive.inc();
      if (stream.connection instanceof Http2DownstreamConnection) stream.connection.drain();
      else headers.connection = 'close';
    }
  }

  /** Ends a stream once: its stats, its access log line, its watchers. */
  endStream(stream: HttpStream): void {
    if (stream.ended) return;
    stream.ended = true;
    const { info } = stream;
    const stats = this.stats;
    stats.downstreamRqActive.sub(1);
    if (!stream.responseComplete) {
      if (stream.localReset) stats.downstreamRqTxReset.inc();
      else {
        stats.downstreamRqRxReset.inc();
        if (!stream.responseStarted) info.setResponseFlag('DC');
      }
    } else if (!info.healthCheck) {
      // As Envoy's chargeStats: health checks stay out of the completed requests and their classes.
      stats.downstreamRqCompleted.inc();
      const cls = (info.responseCode / 100) | 0;
      if (cls >= 1 && cls <= 5) stats.downstreamRqClass[cls].inc();
    }
    if (!stream.responseStarted) info.responseCode = 0;
    const durationMs = performance.now() - stream.startMs;
    info.durationMs = durationMs;
    stats.downstreamRqTime.record(durationMs);
    stream.destroy();
    stream.connection.onStreamEnd(stream);
    if (info.healthCheck) this.tracing?.countHealthCheck();
    if (stream.activeSpan !== null) this.tracing!.finishRequest(stream.activeSpan, info, stream.route?.route.model, stream);
    for (const filter of this.completionFilters) filter.onStreamComplete!(stream);
    for (const logger of this.accessLoggers) logger.log(info);
  }
}
