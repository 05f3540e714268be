// HTTP upgrades (websocket and the like) and CONNECT, as Envoy's HCM handles them with
// upgrade_configs. Node's HTTP server hands such a request over raw ('upgrade' and 'connect'
// events); this looks up its route, checks that the upgrade type is enabled (HCM upgrade_configs,
// overridden per route; else 403 and downstream_rq_ws_on_non_ws_route), picks a host of the
// route's cluster and connects to it. A websocket (or a CONNECT without connect_config) is sent
// upstream as a request and the upstream's answer relayed: after a 101 (a 2xx for CONNECT) both
// connections carry raw bytes through a Relay with back-pressure. A CONNECT whose route has
// connect_config is terminated here: Legate answers 200 and relays the payload as raw TCP.
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpConnectionManager, RouteAction, UpgradeConfig } from '../config/model.ts';
import type { ConnectionFacts } from '../listener/index.ts';
import { StreamInfo, type AccessLogger } from '../access-log/index.ts';
import type { Counter, Gauge, Store } from '../stats/index.ts';
import type { ClusterManager, UpstreamCluster } from '../upstream/index.ts';
import type { RouteMatchResult, RouteRequest, RouteTable } from '../router/index.ts';
import { closeAfterFlush, connectUpstream, Relay, upstreamFlowStats, type RelayObserver, type UpstreamFlowStats } from '../tcp/index.ts';
import type { HcmStats } from './hcm-stats.ts';
import { newRequestId } from './headers.ts';
import { stripHopByHop } from '../router/index.ts';

export interface UpgradeContext {
  store: Store;
  clusters: ClusterManager;
  routeTable(name: string): RouteTable<StreamInfo> | undefined;
}

/** For node's shouldUpgradeCallback: Envoy ignores an h2c upgrade and serves the request as HTTP/1.1. */
export function takesUpgrade(req: IncomingMessage): boolean {
  return String(req.headers.upgrade).toLowerCase() !== 'h2c';
}

/** Envoy's rule: a route's upgrade config decides when it names the type, else the HCM's. */
export function upgradeEnabled(type: string, hcm: readonly UpgradeConfig[], route: readonly UpgradeConfig[] | undefined): boolean {
  const perRoute = route?.find((u) => u.upgradeType === type);
  if (perRoute !== undefined) return perRoute.enabled;
  return hcm.find((u) => u.upgradeType === type)?.enabled === true;
}

export class UpgradeHandler {
  readonly config: HttpConnectionManager;
  readonly ctx: UpgradeContext;
  readonly stats: HcmStats;
  readonly loggers: AccessLogger[];
  readonly upgradesTotal: Counter;
  readonly upgradesActive: Gauge;
  readonly pausedReading: Counter;
  readonly resumedReading: Counter;

  constructor(config: HttpConnectionManager, ctx: UpgradeContext, stats: HcmStats, loggers: AccessLogger[]) {
    this.config = config;
    this.ctx = ctx;
    this.stats = stats;
    this.loggers = loggers;
    const p = `http.${config.statPrefix}.`;
    this.upgradesTotal = ctx.store.counter(p + 'downstream_cx_upgrades_total');
    this.upgradesActive = ctx.store.gauge(p + 'downstream_cx_upgrades_active');
    this.pausedReading = ctx.store.counter(p + 'downstream_flow_control_paused_reading_total');
    this.resumedReading = ctx.store.counter(p + 'downstream_flow_control_resumed_reading_total');
  }

  /** Node's 'upgrade' and 'connect' events: the request head is parsed, the socket is ours. */
  onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer, facts: ConnectionFacts | undefined): void {
    new UpgradeStream(this, req, socket, head).start(facts);
  }
}

/** One upgrade request, from its head to the end of the tunnel; logs once when the downstream closes. */
class UpgradeStream implements RelayObserver {
  private readonly hcm: UpgradeHandler;
  private readonly req: IncomingMessage;
  private readonly downstream: Socket;
  private readonly head: Buffer;
  private readonly info = new StreamInfo();
  private readonly startMs = performance.now();
  private cluster: UpstreamCluster | undefined;
  private upstream: Socket | undefined;
  private relay: Relay | undefined;
  private responded = false;
  private upgraded = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private idleMs = 0; // the route's idle_timeout, else the HCM's stream_idle_timeout; 0 = none
  private flow: UpstreamFlowStats | undefined; // resolved on the first pause

  constructor(hcm: UpgradeHandler, req: IncomingMessage, downstream: Socket, head: Buffer) {
    this.hcm = hcm;
    this.req = req;
    this.downstream = downstream;
    this.head = head;
  }

  start(facts: ConnectionFacts | undefined): void {
    const { hcm, req, downstream, info } = this;
    const stats = hcm.stats;
    stats.downstreamRqTotal.inc();
    stats.downstreamRqHttp1Total.inc();
    stats.downstreamRqActive.add(1);
    downstream.on('error', () => {});
    downstream.once('close', () => this.onDownstreamClose());
    const connect = req.method === 'CONNECT';
    const type = connect ? 'connect' : String(req.headers.upgrade).toLowerCase();
    // A CONNECT names its target as the authority and has no path (Envoy matches it with connect_matcher).
    const request: RouteRequest = {
      authority: connect ? (req.url ?? '') : (req.headers.host ?? ''),
      path: connect ? '' : (req.url ?? '/'),
      method: req.method ?? 'GET',
      scheme: 'http',
      headers: req.headers,
    };
    info.protocol = 'HTTP/1.1';
    info.method = request.method;
    info.path = request.path;
    info.authority = request.authority;
    info.scheme = 'http';
    info.requestHeaders = req.headers;
    info.downstreamRemoteAddress = `${downstream.remoteAddress}:${downstream.remotePort}`;
    info.downstreamDirectRemoteAddress = info.downstreamRemoteAddress;
    // Where the client was going: the original_dst listener filter's restored address, if any.
    info.downstreamLocalAddress = facts === undefined ? `${downstream.localAddress}:${downstream.localPort}` : `${facts.destinationIp}:${facts.destinationPort}`;

    const result = hcm.ctx.routeTable(hcm.config.routeConfigName)?.route(request);
    const matched = result != null && result.route !== null ? (result as RouteMatchResult<StreamInfo>) : null;
    const action = matched?.route.model.action;
    if (!upgradeEnabled(type, hcm.config.upgradeConfigs, action?.kind === 'route' ? action.upgradeConfigs : undefined)) {
      stats.downstreamRqWsOnNonWsRoute.inc();
      this.localReply(403, '', '', 'upgrade_failed');
      return;
    }
    stats.rqTotal.inc();
    if (matched === null || action === undefined) {
      stats.noRoute.inc();
      this.localReply(404, '', 'NR', 'route_not_found');
      return;
    }
    info.routeName = matched.route.name;
    if (action.kind === 'direct_response') {
      stats.rqDirectResponse.inc();
      this.localReply(action.status, action.body ?? '', '', 'direct_response');
      return;
    }
    if (action.kind === 'redirect') {
      stats.rqRedirect.inc();
      this.localReply(action.responseCode, '', '', 'direct_response', { location: matched.route.redirectLocation(request) });
      return;
    }
    void this.forward(matched, action, request, connect);
  }

  private async forward(matched: RouteMatchResult<StreamInfo>, action: RouteAction, request: RouteRequest, connect: boolean): Promise<void> {
    const { hcm, info } = this;
    const picked = matched.route.pickCluster(request);
    const cluster = hcm.ctx.clusters.get(picked.name);
    if (cluster === undefined) {
      hcm.stats.noCluster.inc();
      this.localReply(503, '', 'NC', 'cluster_not_found');
      return;
    }
    this.cluster = cluster;
    info.upstreamCluster = cluster.config.name;
    const hash = action.hashPolicy.length > 0 ? matched.route.hash(request, this.downstream)?.hash : undefined;
    const host = cluster.chooseHost({ hash, downstreamLocalAddress: info.downstreamLocalAddress });
    if (host === null) {
      cluster.stats.upstreamCxNone.inc();
      this.localReply(503, 'no healthy upstream', 'UH', 'no_healthy_upstream');
      return;
    }
    info.upstreamHost = host.address;
    info.attemptCount = 1;
    // Until the upstream answers, the stream idle timeout bounds the wait (Envoy's 408 "stream timeout").
    const idleMs = action.idleTimeoutMs > 0 ? action.idleTimeoutMs : hcm.config.streamIdleTimeoutMs;
    this.idleMs = idleMs;
    if (idleMs > 0) {
      this.idleTimer = setTimeout(() => {
        hcm.stats.downstreamRqIdleTimeout.inc();
        this.localReply(408, 'stream timeout', 'SI', 'stream_idle_timeout');
        this.upstream?.destroy();
      }, idleMs);
    }
    const outcome = await connectUpstream(cluster, host);
    if (!outcome.ok) {
      info.upstreamTransportFailureReason = outcome.reason;
      this.localReply(503, 'upstream connect error or disconnect/reset before headers. reset reason: connection failure', 'UF', 'upstream_reset_before_response_started{connection_failure}');
      return;
    }
    const upstream = outcome.socket;
    this.upstream = upstream;
    if (this.responded || this.downstream.destroyed) {
      upstream.destroy();
      return;
    }
    info.upstreamLocalAddress = `${upstream.localAddress}:${upstream.localPort}`;
    const terminate = connect && action.upgradeConfigs.some((u) => u.upgradeType === 'connect' && u.connectConfig !== undefined);
    const mutations = matched.route.mutations(picked.weighted);
    if (terminate) {
      const headers: OutgoingHttpHeaders = {};
      this.finishResponseHeaders(headers, mutations);
      this.startTunnel(200, 'OK', headers, this.head, Buffer.alloc(0));
      return;
    }
    const headers = this.upstreamRequestHeaders(connect);
    mutations.applyRequest(headers, info);
    if (action.hostRewriteLiteral !== undefined) headers.host = action.hostRewriteLiteral;
    const path = connect ? request.authority : matched.route.rewritePath(request.path);
    this.handshake(upstream, request.method, path, headers, mutations, connect);
  }

  /** Sends the request upstream on the connected socket and relays the answer: a tunnel, or a plain response. */
  private handshake(upstream: Socket, method: string, path: string, headers: OutgoingHttpHeaders, mutations: ResponseMutations, connect: boolean): void {
    const info = this.info;
    const upstreamReq = http.request({ createConnection: () => upstream, method, path, headers, setHost: false });
    const onTunnel = (res: IncomingMessage, _socket: Socket, upstreamHead: Buffer) => {
      const status = res.statusCode ?? 502;
      const out = responseHeaders(res.headers);
      this.finishResponseHeaders(out, mutations);
      if (connect && (status < 200 || status > 299)) {
        // A refused CONNECT: the answer goes back and the connection ends with it.
        this.respond(status, res.statusMessage ?? '', out, upstreamHead, 'via_upstream');
        closeAfterFlush(this.downstream);
        upstream.destroy();
        return;
      }
      this.startTunnel(status, res.statusMessage ?? '', out, this.head, upstreamHead);
    };
    upstreamReq.once('upgrade', onTunnel);
    upstreamReq.once('connect', onTunnel);
    // Not upgraded: an ordinary response, relayed with the connection closing after it.
    upstreamReq.once('response', (res: IncomingMessage) => {
      const out = responseHeaders(res.headers);
      delete out['transfer-encoding']; // the body is relayed decoded and ends with the connection
      this.finishResponseHeaders(out, mutations);
      out.connection = 'close';
      this.respond(res.statusCode ?? 502, res.statusMessage ?? '', out, Buffer.alloc(0), 'via_upstream');
      res.on('data', (chunk: Buffer) => {
        info.bytesSent += chunk.length;
        if (!this.downstream.write(chunk)) res.pause();
      });
      this.downstream.on('drain', () => res.resume());
      res.once('end', () => closeAfterFlush(this.downstream));
    });
    upstreamReq.once('error', () => {
      if (this.responded) {
        this.downstream.destroy();
        return;
      }
      this.localReply(503, 'upstream connect error or disconnect/reset before headers. reset reason: connection termination', 'UC', 'upstream_reset_before_response_started{connection_termination}');
    });
    upstreamReq.end();
  }

  /** The request headers bound upstream: hop-by-hop ones removed except the upgrade itself. */
  private upstreamRequestHeaders(connect: boolean): OutgoingHttpHeaders {
    const { hcm, req } = this;
    const headers: IncomingHttpHeaders = { ...req.headers };
    const upgrade = headers.upgrade;
    stripHopByHop(headers);
    if (!connect) {
      headers.connection = 'upgrade';
      headers.upgrade = upgrade;
    }
    if (hcm.config.useRemoteAddress) {
      const remote = this.downstream.remoteAddress ?? '';
      const xff = headers['x-forwarded-for'];
      if (!hcm.config.skipXffAppend) headers['x-forwarded-for'] = xff === undefined || xff === '' ? remote : `${xff}, ${remote}`;
      headers['x-forwarded-proto'] = 'http';
    } else if (headers['x-forwarded-proto'] === undefined) {
      headers['x-forwarded-proto'] = 'http';
    }
    if (hcm.config.generateRequestId && headers['x-request-id'] === undefined) headers['x-request-id'] = newRequestId();
    return headers;
  }

  /** Response header mutations and the server header, as the HCM applies them to every response. */
  private finishResponseHeaders(headers: OutgoingHttpHeaders, mutations: ResponseMutations): void {
    mutations.applyResponse(headers, this.info);
    const { serverHeaderTransformation, serverName } = this.hcm.config;
    if (serverHeaderTransformation === 'OVERWRITE' || (serverHeaderTransformation === 'APPEND_IF_ABSENT' && headers.server === undefined)) headers.server = serverName;
    if (headers.date === undefined) headers.date = new Date().toUTCString();
  }

  /** Writes the tunnel's response head, then both connections carry raw bytes. */
  private startTunnel(status: number, reason: string, headers: OutgoingHttpHeaders, downstreamHead: Buffer, upstreamHead: Buffer): void {
    const { hcm, downstream } = this;
    const upstream = this.upstream!;
    this.respond(status, reason, headers, upstreamHead, 'via_upstream');
    this.upgraded = true;
    hcm.upgradesTotal.inc();
    hcm.upgradesActive.add(1);
    if (downstreamHead.length > 0) {
      this.info.bytesReceived += downstreamHead.length;
      upstream.write(downstreamHead);
    }
    this.relay = new Relay(downstream, upstream, this.idleMs, this);
    this.relay.start();
  }

  /** Writes a response head (and bytes that came with it) on the raw downstream connection. */
  private respond(status: number, reason: string, headers: OutgoingHttpHeaders, body: Buffer, details: string): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.responded = true;
    this.info.responseCode = status;
    this.info.responseCodeDetails = details;
    this.info.responseHeaders = headers;
    let head = `HTTP/1.1 ${status} ${reason || http.STATUS_CODES[status] || ''}\r\n`;
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) head += `${name}: ${one}\r\n`;
    }
    this.downstream.write(head + '\r\n');
    if (body.length > 0) {
      this.info.bytesSent += body.length;
      this.downstream.write(body);
    }
  }

  private localReply(status: number, body: string, flag: string, details: string, extra: OutgoingHttpHeaders = {}): void {
    if (flag !== '') this.info.setResponseFlag(flag);
    if (this.responded) {
      this.downstream.destroy();
      return;
    }
    const headers: OutgoingHttpHeaders = { ...extra, 'content-length': Buffer.byteLength(body) };
    if (body !== '') headers['content-type'] = 'text/plain';
    const { serverName } = this.hcm.config;
    headers.server = serverName;
    headers.date = new Date().toUTCString();
    headers.connection = 'close';
    this.respond(status, '', headers, Buffer.from(body), details);
    closeAfterFlush(this.downstream);
  }

  private onDownstreamClose(): void {
    const { hcm, info } = this;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    if (this.relay === undefined) this.upstream?.destroy();
    const stats = hcm.stats;
    stats.downstreamRqActive.sub(1);
    if (this.upgraded) hcm.upgradesActive.sub(1);
    if (this.responded) {
      stats.downstreamRqCompleted.inc();
      const cls = (info.responseCode / 100) | 0;
      if (cls >= 1 && cls <= 5) stats.downstreamRqClass[cls].inc();
    } else {
      stats.downstreamRqRxReset.inc();
      info.setResponseFlag('DC');
    }
    const durationMs = performance.now() - this.startMs;
    info.durationMs = durationMs;
    stats.downstreamRqTime.record(durationMs);
    for (const logger of hcm.loggers) logger.log(info);
  }

  // ---- RelayObserver ----

  downstreamBytes(n: number): void {
    this.info.bytesReceived += n;
    this.cluster!.stats.upstreamCxTxBytesTotal.inc(n);
  }

  upstreamBytes(n: number): void {
    this.info.bytesSent += n;
    this.cluster!.stats.upstreamCxRxBytesTotal.inc(n);
  }

  downstreamReadPaused(paused: boolean): void {
    (paused ? this.hcm.pausedReading : this.hcm.resumedReading).inc();
    const flow = (this.flow ??= upstreamFlowStats(this.hcm.ctx.store, this.cluster!));
    (paused ? flow.backedUp : flow.drained).inc();
  }

  upstreamReadPaused(paused: boolean): void {
    const flow = (this.flow ??= upstreamFlowStats(this.hcm.ctx.store, this.cluster!));
    (paused ? flow.pausedReading : flow.resumedReading).inc();
  }

  upstreamFlushing(): void {}

  idleTimeout(): void {
    this.hcm.stats.downstreamRqIdleTimeout.inc();
    this.info.setResponseFlag('SI');
  }
}

type ResponseMutations = { applyResponse(headers: OutgoingHttpHeaders, info: StreamInfo): void };

/** An upstream response's headers to send downstream (node joined repeated ones, set-cookie aside). */
function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = value;
  return out;
}
