// Envoy's HTTP connection manager for one filter chain: it owns a node:http server that is fed
// the chain's connections, and runs each request through route lookup, the HTTP filters and the
// router filter. The route table is looked up by name per request, so an RDS update applies to
// the next request on every connection.
import http from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpConnectionManager } from '../config/model.ts';
import type { ConnectionFacts, ChainHandler } from '../listener/index.ts';
import { createAccessLogger, StreamInfo, type AccessLogger } from '../access-log/index.ts';
import type { RateLimitService } from '../ratelimit/index.ts';
import type { Store } from '../stats/index.ts';
import type { ClusterManager } from '../upstream/index.ts';
import { routeToCluster, type RouteTable, type RouterOptions, stripHopByHop } from '../router/index.ts';
import { createHttpFilters, type HttpFilterInstance } from './filters/index.ts';
import { HcmStats } from './hcm-stats.ts';
import { newRequestId, removeEnvoyControlHeaders } from './headers.ts';
import { isInternalAddress } from './internal-address.ts';
import { normalizeRequestPath } from './path-normalization.ts';
import { HttpStream } from './stream.ts';
import { armStreamTimeouts } from './stream-timeouts.ts';
import { takesUpgrade, UpgradeHandler } from './upgrade.ts';

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
}

const kFacts = Symbol('legate.connectionFacts');
type FactsSocket = Socket & { [kFacts]?: ConnectionFacts };

export class HttpConnectionManagerHandler implements ChainHandler {
  readonly config: HttpConnectionManager;
  readonly stats: HcmStats;
  private readonly ctx: HcmContext;
  private readonly server: http.Server;
  private readonly filters: HttpFilterInstance[];
  private readonly accessLoggers: AccessLogger[];
  private readonly routerOptions: RouterOptions;
  private draining = false;

  constructor(config: HttpConnectionManager, ctx: HcmContext) {
    this.config = config;
    this.ctx = ctx;
    this.stats = new HcmStats(ctx.store, config.statPrefix);
    this.filters = createHttpFilters(config.httpFilters, {
      store: ctx.store,
      statPrefix: config.statPrefix,
      log: ctx.log,
      workers: ctx.workers,
      localCluster: ctx.localCluster,
      rateLimitService: ctx.rateLimitService,
    });
    this.accessLoggers = config.accessLog.map((a) => createAccessLogger(a));
    this.routerOptions = { clusters: ctx.clusters, meshRetries: ctx.meshRetries, bufferLimitBytes: 1024 * 1024 };
    this.server = http.createServer(
      {
        keepAliveTimeout: config.idleTimeoutMs,
        requestTimeout: config.requestTimeoutMs,
        // Envoy's request_headers_timeout (0 = none); node wants it no longer than requestTimeout.
        headersTimeout: config.requestTimeoutMs > 0 && (config.requestHeadersTimeoutMs === 0 || config.requestHeadersTimeoutMs > config.requestTimeoutMs) ? config.requestTimeoutMs : config.requestHeadersTimeoutMs,
        maxHeaderSize: config.maxRequestHeadersKb * 1024,
        noDelay: true,
        connectionsCheckingInterval: 1000,
        shouldUpgradeCallback: takesUpgrade,
      },
      (req, res) => this.onRequest(req, res),
    );
    // Upgrades and CONNECT leave node's HTTP handling: upgrade.ts tunnels them.
    const upgrades = new UpgradeHandler(config, ctx, this.stats, this.accessLoggers);
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => upgrades.onUpgrade(req, socket, head, (socket as FactsSocket)[kFacts]));
    this.server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => upgrades.onUpgrade(req, socket, head, (socket as FactsSocket)[kFacts]));
    this.server.on('connection', (socket: Socket) => this.onHttpConnection(socket));
    this.server.on('clientError', (err: Error & { code?: string }, socket: Socket) => this.onClientError(err, socket));
    // The server never listens itself (the listener feeds it sockets), but node tracks connections
    // (request and headers timeouts, idle connections to close on drain) only once it is listening.
    this.server.emit('listening');
  }

  onConnection(socket: Socket, facts: ConnectionFacts): void {
    (socket as FactsSocket)[kFacts] = facts;
    this.server.emit('connection', socket);
  }

  /** Idle connections close now, busy ones after their response (Connection: close). */
  drain(): void {
    this.draining = true;
    // http.Server.close closes idle connections and stops the tracking timer; busy ones go on.
    this.server.close(() => {});
  }

  private onHttpConnection(socket: Socket): void {
    this.stats.downstreamCxTotal.inc();
    this.stats.downstreamCxHttp1Total.inc();
    this.stats.downstreamCxActive.add(1);
    this.stats.downstreamCxHttp1Active.add(1);
    socket.once('close', () => {
      this.stats.downstreamCxActive.sub(1);
      this.stats.downstreamCxHttp1Active.sub(1);
      this.stats.downstreamCxRxBytesTotal.inc(socket.bytesRead);
      this.stats.downstreamCxTxBytesTotal.inc(socket.bytesWritten);
    });
  }

  /** A malformed request gets the status Envoy gives (400, 413 or 431) and the connection closes. */
  private onClientError(err: Error & { code?: string }, socket: Socket): void {
    if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'request timeout' : 'Bad Request';
    if (status === 408) this.stats.downstreamRqTimeout.inc();
    else this.stats.downstreamCxProtocolError.inc();
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-length: ${body.length}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${body}`);
    // Logged as Envoy logs a codec error: the status sent and DPE (downstream protocol error).
    const info = new StreamInfo();
    info.protocol = 'HTTP/1.1';
    info.responseCode = status;
    info.responseCodeDetails = status === 431 ? 'http1.headers_too_large' : status === 408 ? 'request_header_timeout' : 'http1.codec_error';
    if (status !== 408) info.setResponseFlag('DPE');
    info.bytesSent = body.length;
    info.downstreamRemoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    info.downstreamDirectRemoteAddress = info.downstreamRemoteAddress;
    info.downstreamLocalAddress = `${socket.localAddress}:${socket.localPort}`;
    info.durationMs = info.elapsedMs();
    for (const logger of this.accessLoggers) logger.log(info);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const stats = this.stats;
    stats.downstreamRqTotal.inc();
    stats.downstreamRqHttp1Total.inc();
    stats.downstreamRqActive.add(1);
    const socket = req.socket as FactsSocket;
    const method = req.method ?? 'GET';
    if (this.config.normalizePath || this.config.mergeSlashes) req.url = normalizeRequestPath(req.url ?? '/', this.config.normalizePath, this.config.mergeSlashes);
    const path = req.url ?? '/';
    const authority = req.headers.host ?? '';
    const info = new StreamInfo();
    info.protocol = req.httpVersion === '1.0' ? 'HTTP/1.0' : 'HTTP/1.1';
    info.method = method;
    info.path = path;
    info.authority = authority;
    info.scheme = 'http';
    info.requestHeaders = req.headers;
    const contentLength = req.headers['content-length'];
    if (contentLength !== undefined) info.bytesReceived = Number(contentLength) || 0;
    info.downstreamRemoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    info.downstreamDirectRemoteAddress = info.downstreamRemoteAddress;
    // Where the client was going: the original_dst listener filter's restored address, if any.
    const facts = socket[kFacts];
    info.downstreamLocalAddress = facts === undefined ? `${socket.localAddress}:${socket.localPort}` : `${facts.destinationIp}:${facts.destinationPort}`;
    const stream = new HttpStream(this, req, res, info, { authority, path, method, scheme: 'http', headers: req.headers });
    res.once('close', () => this.onStreamEnd(stream));
    if (this.draining) res.shouldKeepAlive = false;

    this.prepareRequestHeaders(stream, socket);
    const table = this.ctx.routeTable(this.config.routeConfigName);
    const result = table?.route(stream.request);
    if (result == null || result.route === null) {
      stats.rqTotal.inc(); // the router counts every request it sees, routed or not (Envoy's rq_total)
      stats.noRoute.inc();
      stream.localReply(404, '', 'NR', 'route_not_found');
      return;
    }
    stream.route = result;
    info.routeName = result.route.name;
    const action = result.route.model.action;
    // As Envoy's route entry: the weighted cluster is chosen once, so filters and router agree.
    if (action.kind === 'route') stream.cluster = result.route.pickCluster(stream.request);
    armStreamTimeouts(stream, this.config, action.kind === 'route' ? action : undefined, stats);
    this.runFilters(stream, 0);
  }

  /** Runs the HTTP filters from index i; a filter that answers locally stops the chain. */
  private runFilters(stream: HttpStream, i: number): void {
    for (; i < this.filters.length; i++) {
      const outcome = this.filters[i].decodeHeaders(stream);
      if (outcome === true) continue;
      if (outcome === false) return;
      const next = i + 1;
      outcome.then(
        (go) => {
          if (go && !stream.ended) this.runFilters(stream, next);
        },
        (err: Error) => {
          this.ctx.log(`http filter failed: ${err.message}`);
          stream.localReply(500, 'internal error', '', 'filter_error');
        },
      );
      return;
    }
    this.route(stream);
  }

  /** The router filter's work: direct response, redirect, or upstream. */
  private route(stream: HttpStream): void {
    this.stats.rqTotal.inc();
    const { virtualHost, route } = stream.route!;
    const action = route.model.action;
    if (action.kind === 'direct_response') {
      this.stats.rqDirectResponse.inc();
      stream.localReply(action.status, action.body ?? '', '', 'direct_response');
      return;
    }
    const request = stream.request;
    if (action.kind === 'redirect') {
      this.stats.rqRedirect.inc();
      stream.localReply(action.responseCode, '', '', 'direct_response', { location: route.redirectLocation(request) });
      return;
    }
    const picked = stream.cluster!;
    stream.includeAttemptCount = virtualHost.model.includeRequestAttemptCount || action.includeAttemptCount;
    stream.includeAttemptCountInResponse = virtualHost.model.includeAttemptCountInResponse;
    const rewritten = route.rewritePath(stream.path);
    if (rewritten !== stream.path) {
      stream.headers['x-envoy-original-path'] = stream.path;
      stream.path = rewritten;
    }
    if (action.hostRewriteLiteral !== undefined) stream.headers.host = action.hostRewriteLiteral;
    else if (action.hostRewriteHeader !== undefined) {
      const v = stream.headers[action.hostRewriteHeader];
      if (typeof v === 'string' && v !== '') stream.headers.host = v;
    }
    route.mutations(picked.weighted).applyRequest(stream.headers, stream.info);
    if (!routeToCluster(stream, action, picked.name, this.routerOptions)) this.stats.noCluster.inc();
  }

  /** x-forwarded-for / -proto, x-request-id, and hop-by-hop removal, as Envoy's HCM does. */
  private prepareRequestHeaders(stream: HttpStream, socket: Socket): void {
    const headers = stream.headers;
    stripHopByHop(headers, true);
    delete headers.expect; // node answered 100-continue already, as Envoy does by default
    const config = this.config;
    if (config.useRemoteAddress) {
      const remote = socket.remoteAddress ?? '';
      if (!config.skipXffAppend) {
        const xff = headers['x-forwarded-for'];
        headers['x-forwarded-for'] = xff === undefined || xff === '' ? remote : `${xff}, ${remote}`;
      }
      headers['x-forwarded-proto'] = 'http';
      stream.trustedDownstream = isInternalAddress(remote);
      if (stream.trustedDownstream) headers['x-envoy-internal'] = 'true';
      else {
        removeEnvoyControlHeaders(headers);
        headers['x-envoy-external-address'] = remote;
      }
    } else {
      stream.trustedDownstream = true;
      if (headers['x-forwarded-proto'] === undefined) headers['x-forwarded-proto'] = 'http';
    }
    if (config.generateRequestId && (headers['x-request-id'] === undefined || !config.preserveExternalRequestId && !stream.trustedDownstream)) {
      headers['x-request-id'] = newRequestId();
    }
  }

  prepareResponseHeaders(stream: HttpStream, headers: OutgoingHttpHeaders, _status: number): void {
    const route = stream.route;
    if (route !== null) route.route.mutations(stream.cluster?.weighted).applyResponse(headers, stream.info);
    const transform = this.config.serverHeaderTransformation;
    if (transform === 'OVERWRITE' || (transform === 'APPEND_IF_ABSENT' && headers.server === undefined)) headers.server = this.config.serverName;
    if (this.draining) headers.connection = 'close';
    stream.info.responseHeaders = headers;
  }

  hashFor(stream: HttpStream): number | undefined {
    const route = stream.route?.route;
    if (route == null || route.model.action.kind !== 'route' || route.model.action.hashPolicy.length === 0) return undefined;
    const computed = route.hash(stream.request, stream.req.socket);
    if (computed?.setCookies !== undefined) stream.res.appendHeader('set-cookie', computed.setCookies);
    return computed?.hash;
  }

  private onStreamEnd(stream: HttpStream): void {
    const { res, info } = stream;
    const stats = this.stats;
    stats.downstreamRqActive.sub(1);
    if (!res.writableFinished) {
      if (stream.localReset) stats.downstreamRqTxReset.inc();
      else {
        stats.downstreamRqRxReset.inc();
        if (!res.headersSent) info.setResponseFlag('DC');
      }
      stream.reset();
    } else {
      stats.downstreamRqCompleted.inc();
      const cls = (res.statusCode / 100) | 0;
      if (cls >= 1 && cls <= 5) stats.downstreamRqClass[cls].inc();
    }
    info.responseCode = res.headersSent ? res.statusCode : 0;
    const durationMs = performance.now() - stream.startMs;
    info.durationMs = durationMs;
    stats.downstreamRqTime.record(durationMs);
    for (const logger of this.accessLoggers) logger.log(info);
  }
}
