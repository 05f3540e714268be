// One bound listener: accepts connections, selects a filter chain for each and hands the socket to
// that chain's handler (an HTTP connection manager or a TCP proxy). Handlers are reused across
// updates when their chain did not change, so a config push does not churn connections.
import net from 'node:net';
import type { FilterChain, Listener, ListenerFilterPredicate } from '../config/model.ts';
import { HTTP_INSPECTOR_TYPE, TLS_INSPECTOR_TYPE } from '../config/extensions.ts';
import type { Counter, Gauge, Store } from '../stats/index.ts';
import { FilterState } from '../filter-state/index.ts';
import type { ConnectionFacts } from './filter-chain.ts';
import { chainSelector, type ChainSelector } from './filter-chain-matcher.ts';
import { TlsInspector } from './tls-inspector.ts';
import type { InspectOutcome } from './peek.ts';
import { HttpInspector } from './http-inspector.ts';
import { filterDisabled } from './filter-disabled.ts';
import { withNetworkRbac } from './rbac-filter.ts';
import { withSetFilterState } from './set-filter-state.ts';
import type { ChainHandler } from './chain-handler.ts';
import { hasOriginalDstFilter, restoreOriginalDst } from './original-dst/handoff.ts';
import { internalOriginalDst } from './original-dst/internal.ts';
import { setInternalDstAddress } from './set-internal-dst-address.ts';
import { setIstioPrincipals } from './istio-authn.ts';
import { listenerStatRoot } from './stat-root.ts';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, DownstreamTls, internalListeners, SslStats, type InternalSocket } from '../transport/index.ts';
import type { OverloadManager } from '../overload/index.ts';
import { LiveList } from '../collections/live-list.ts';

// Not an ESM import: that reads every export of node:util, loading what its lazy ones need.
const { isDeepStrictEqual } = process.getBuiltinModule('node:util');

export type { ChainHandler } from './chain-handler.ts';

export type ChainHandlerFactory = (chain: FilterChain, listener: Listener) => ChainHandler;

/** The listener configured for an original destination (use_original_dst hand-off), if any. */
export type ListenerLookup = (ip: string, port: number) => ActiveListener | undefined;

/** A listener filter that reads the first bytes (tls_inspector, http_inspector), with its filter_disabled. */
interface Inspection {
  inspector: { inspect(socket: net.Socket, facts: ConnectionFacts, done: (outcome: InspectOutcome) => void): () => void };
  disabled: ListenerFilterPredicate | undefined;
}

interface ListenerStats {
  downstreamCxTotal: Counter;
  downstreamCxActive: Gauge;
  downstreamCxDestroy: Counter;
  downstreamCxOverflow: Counter;
  noFilterChainMatch: Counter;
  downstreamPreCxActive: Gauge;
  downstreamPreCxTimeout: Counter;
  downstreamGlobalCxOverflow: Counter;
  downstreamCxOverloadReject: Counter;
}

export class ActiveListener {
  config: Listener;
  private matcher: ChainSelector;
  private restoresOriginalDst: boolean;
  private readonly lookup: ListenerLookup;
  private handlers: Map<FilterChain, ChainHandler>;
  private readonly server: net.Server;
  private readonly connections = new LiveList<net.Socket>();
  /** Connections still in the listener filters (the inspectors), not yet given to a chain. */
  private readonly inspecting = new LiveList<net.Socket>();
  private inspections: Inspection[];
  private readonly store: Store;
  private readonly stats: ListenerStats;
  private readonly reusePort: boolean;
  private accepting = false;
  private acceptPaused = false; // stop_accepting_connections: the socket is closed until the action clears
  private readonly overload: OverloadManager | undefined;
  private onEmpty: (() => void) | undefined; // set while draining
  private boundPort: { port: number } | undefined;
  /** The bound address when it names one IP: every connection's local address (no getsockname). */
  private fixedLocal: { address: string; port: number } | undefined;
  /** An internal listener's registration with the worker's registry, while it accepts. */
  private unregister: (() => void) | undefined;

  private readonly log: (line: string) => void;

  constructor(config: Listener, factory: ChainHandlerFactory, store: Store, reusePort: boolean, lookup: ListenerLookup, log: (line: string) => void, overload?: OverloadManager) {
    this.log = log;
    this.overload = overload;
    this.config = config;
    this.reusePort = reusePort;
    this.lookup = lookup;
    this.restoresOriginalDst = hasOriginalDstFilter(config);
    this.store = store;
    this.matcher = chainSelector(config, store);
    this.handlers = buildHandlers(config, factory, new Map(), store);
    this.inspections = inspectionsOf(config, store);
    const prefix = listenerStatRoot(config);
    this.stats = {
      downstreamCxTotal: store.counter(prefix + 'downstream_cx_total'),
      downstreamCxActive: store.gauge(prefix + 'downstream_cx_active'),
      downstreamCxDestroy: store.counter(prefix + 'downstream_cx_destroy'),
      downstreamCxOverflow: store.counter(prefix + 'downstream_cx_overflow'),
      noFilterChainMatch: store.counter(prefix + 'no_filter_chain_match'),
      downstreamPreCxActive: store.gauge(prefix + 'downstream_pre_cx_active'),
      downstreamPreCxTimeout: store.counter(prefix + 'downstream_pre_cx_timeout'),
      downstreamGlobalCxOverflow: store.counter(prefix + 'downstream_global_cx_overflow'),
      downstreamCxOverloadReject: store.counter(prefix + 'downstream_cx_overload_reject'),
    };
    this.server = net.createServer({ noDelay: true }, (socket) => this.onConnection(socket));
  }

  listen(): Promise<void> {
    if (this.config.internal === true) {
      this.unregister = internalListeners.register(this.config.name, (socket) => this.onInternalConnection(socket));
      this.accepting = true;
      return Promise.resolve();
    }
    if (!this.config.bindToPort) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(new Error(`listener '${this.config.name}': cannot bind ${this.config.address.address}:${this.config.address.port}: ${err.message}`));
      this.server.once('error', onError);
      this.server.listen(
        // With SO_REUSEPORT each worker binds its own socket (exclusive); without, node:cluster
        // shares the primary's socket among workers.
        this.listenOptions(),
        () => {
          this.server.off('error', onError);
          const bound = this.boundAddress();
          this.boundPort = bound;
          this.fixedLocal = isWildcard(bound.address) ? undefined : bound;
          // An accept error later (EMFILE under load) must not take the worker down.
          this.server.on('error', (err) => this.log(`listener '${this.config.name}': ${err.message}`));
          this.accepting = true;
          resolve();
        },
      );
    });
  }

  private listenOptions(): net.ListenOptions {
    return { host: this.config.address.address, port: this.config.address.port, exclusive: this.reusePort, reusePort: this.reusePort || undefined, backlog: 1024 } as net.ListenOptions;
  }

  boundAddress(): { address: string; port: number } {
    const a = this.server.address();
    if (a !== null && typeof a === 'object') return { address: a.address, port: a.port };
    return { address: this.config.address.address, port: this.config.address.port };
  }

  /** New filter chains for new connections; unchanged chains keep their handler. */
  reconfigure(config: Listener, factory: ChainHandlerFactory): void {
    const previous = this.handlers;
    this.config = config;
    this.matcher = chainSelector(config, this.store);
    this.restoresOriginalDst = hasOriginalDstFilter(config);
    this.inspections = inspectionsOf(config, this.store);
    this.handlers = buildHandlers(config, factory, previous, this.store);
    // A chain whose TLS material alone changed (an SDS rotation) keeps its inner handler: its
    // connections go on, new handshakes get the new SecureContext.
    const kept = new Set([...this.handlers.values()].map(innerOf));
    for (const handler of previous.values()) if (!kept.has(innerOf(handler))) handler.drain();
  }

  /** Also the entry for connections handed over by an original_dst listener. */
  onConnection(socket: net.Socket, facts?: ConnectionFacts): void {
    // The overload manager sees each connection once, where it was accepted (not again on a hand-off).
    if (facts === undefined && this.overload !== undefined && this.config.bypassOverloadManager !== true && !this.admit(socket, this.overload)) return;
    if (facts === undefined && this.restoresOriginalDst) {
      const local = connectionFacts(socket, this.fixedLocal);
      const restored = restoreOriginalDst(socket, local);
      if (restored !== null && this.config.useOriginalDst) {
        const target = this.lookup(restored.destinationIp, restored.destinationPort);
        if (target !== undefined) {
          target.onConnection(socket, restored);
          return;
        }
      }
      facts = restored ?? local;
    }
    const limit = this.config.connectionLimit;
    if (limit !== undefined && this.connections.size >= limit) {
      this.stats.downstreamCxOverflow.inc();
      socket.destroy();
      return;
    }
    const f = facts ?? connectionFacts(socket, this.fixedLocal);
    const inspections = this.inspections.filter((i) => !filterDisabled(i.disabled, f.destinationPort));
    if (inspections.length > 0) this.inspect(inspections, socket, f);
    else this.dispatch(socket, f);
  }

  /**
   * A connection from this worker to the internal listener. Like Envoy's internal listener it
   * skips the overload manager's admission and the use_original_dst hand-off (the listener filters
   * that read bytes still run); its addresses are the internal ones, so no IP or port matches a
   * chain, unless original_dst takes a destination from the metadata internal_upstream passed.
   */
  private onInternalConnection(socket: InternalSocket): void {
    const local = socket.localAddress ?? '';
    const remote = socket.remoteAddress ?? '';
    const facts: ConnectionFacts = {
      destinationIp: local,
      destinationPort: 0,
      sourceIp: remote,
      sourcePort: 0,
      directSourceIp: remote,
      serverName: '',
      transportProtocol: 'raw_buffer',
      applicationProtocols: [],
      dynamicMetadata: socket.passthroughMetadata,
    };
    // Envoy's internal client connection factory: the objects the upstream side shared start this connection's filter state.
    if (socket.sharedFilterState !== undefined) facts.filterState = FilterState.fromShared(socket.sharedFilterState);
    const restored = this.restoresOriginalDst ? internalOriginalDst(socket.passthroughMetadata, facts) : null;
    this.onConnection(socket, setInternalDstAddress(this.config, socket.passthroughMetadata, restored ?? facts));
  }

  /** reject_incoming_connections, then the global connection limit (unless ignore_global_conn_limit). */
  private admit(socket: net.Socket, overload: OverloadManager): boolean {
    if (overload.rejectIncomingConnections.shed()) {
      this.stats.downstreamCxOverloadReject.inc();
      socket.destroy();
      return false;
    }
    if (this.config.ignoreGlobalConnLimit === true) return true;
    const limit = overload.connections;
    if (!limit.tryAcquire()) {
      this.stats.downstreamGlobalCxOverflow.inc();
      socket.destroy();
      return false;
    }
    socket.once('close', () => limit.release());
    return true;
  }

  /**
   * stop_accepting_connections. Node cannot leave a listening socket unaccepted, so the socket is
   * closed while the action is saturated and bound again after: with SO_REUSEPORT the kernel sends
   * new connections to the other workers meanwhile; when every worker has stopped, connecting
   * clients are refused rather than left waiting in the backlog as with Envoy.
   */
  setAcceptPaused(paused: boolean): void {
    if (!this.config.bindToPort || (paused && this.config.bypassOverloadManager === true)) return;
    if (paused && this.accepting) {
      this.accepting = false;
      this.acceptPaused = true;
      this.server.close();
    } else if (!paused && this.acceptPaused) {
      this.acceptPaused = false;
      const { port } = this.boundPort ?? this.config.address;
      this.server.listen({ ...this.listenOptions(), port }, () => {
        this.accepting = true;
      });
    }
  }

  /** Runs the inspectors in order under listener_filters_timeout, then matches a chain with what they found. */
  private inspect(inspections: Inspection[], socket: net.Socket, facts: ConnectionFacts): void {
    const inspecting = this.inspecting.add(socket);
    this.stats.downstreamPreCxActive.add(1);
    const finish = () => {
      clearTimeout(timer);
      this.inspecting.delete(inspecting);
      this.stats.downstreamPreCxActive.sub(1);
    };
    let next = 0;
    let stop: () => void = () => undefined;
    const run = (): void => {
      if (next === inspections.length) {
        finish();
        this.dispatch(socket, facts);
        return;
      }
      stop = inspections[next++].inspector.inspect(socket, facts, (outcome) => {
        if (outcome === 'continue') run();
        else finish();
      });
    };
    // The deadline first: an inspector may finish at once (http_inspector on a TLS connection).
    const timeoutMs = this.config.listenerFiltersTimeoutMs;
    const timer = timeoutMs <= 0 ? undefined : setTimeout(() => {
      stop();
      finish();
      this.stats.downstreamPreCxTimeout.inc();
      if (this.config.continueOnListenerFiltersTimeout) this.dispatch(socket, facts);
      else socket.destroy();
    }, timeoutMs);
    run();
  }

  private dispatch(socket: net.Socket, f: ConnectionFacts): void {
    // A socket the inspector read from is paused; flowing again, the handler reads the put-back bytes first.
    if (socket.isPaused()) socket.resume();
    const chain = this.matcher.match(f);
    const handler = chain === undefined ? undefined : this.handlers.get(chain);
    if (handler === undefined) {
      this.stats.noFilterChainMatch.inc();
      socket.destroy();
      return;
    }
    this.stats.downstreamCxTotal.inc();
    this.stats.downstreamCxActive.add(1);
    const entry = this.connections.add(socket);
    socket.on('close', () => {
      this.connections.delete(entry);
      if (this.connections.size === 0) this.onEmpty?.();
      this.stats.downstreamCxActive.sub(1);
      this.stats.downstreamCxDestroy.inc();
    });
    handler.onConnection(socket, f);
  }

  stopAccepting(): void {
    this.unregister?.();
    this.unregister = undefined;
    this.acceptPaused = false;
    if (this.accepting) {
      this.accepting = false;
      this.server.close();
    }
  }

  /** Stops accepting, lets connections finish up to timeoutMs, then closes what is left. */
  async drainAndClose(timeoutMs = 0): Promise<void> {
    this.stopAccepting();
    for (const socket of this.inspecting) socket.destroy();
    for (const handler of this.handlers.values()) handler.drain();
    if (this.connections.size > 0 && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.onEmpty = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const s of this.connections) s.destroy();
  }

}

function buildHandlers(config: Listener, factory: ChainHandlerFactory, previous: Map<FilterChain, ChainHandler>, store: Store): Map<FilterChain, ChainHandler> {
  const handlers = new Map<FilterChain, ChainHandler>();
  const chains = config.defaultFilterChain ? [...config.filterChains, config.defaultFilterChain] : config.filterChains;
  for (const chain of chains) {
    let reused: ChainHandler | undefined;
    let sameButTls: ChainHandler | undefined;
    for (const [old, handler] of previous) {
      if (isDeepStrictEqual(old, chain)) {
        reused = handler;
        break;
      }
      if (sameButTls === undefined && old.tls !== undefined && chain.tls !== undefined && isDeepStrictEqual({ ...old, tls: undefined }, { ...chain, tls: undefined })) {
        sameButTls = handler;
      }
    }
    if (reused !== undefined) {
      handlers.set(chain, reused);
      continue;
    }
    // The RBAC filters run on the (secure) socket the terminal filter gets, after set_filter_state's
    // on_new_connection (Envoy calls every filter's onNewConnection before RBAC reads the connection).
    const inner = sameButTls !== undefined ? innerOf(sameButTls) : withSetFilterState(withNetworkRbac(factory(chain, config), chain, store), chain);
    handlers.set(chain, withTransportSocket(inner, chain, config, store));
  }
  return handlers;
}

// The handler a TLS wrapper hands its secure sockets to (a plain chain's handler is its own).
const innerHandlers = new WeakMap<ChainHandler, ChainHandler>();
function innerOf(handler: ChainHandler): ChainHandler {
  return innerHandlers.get(handler) ?? handler;
}

// A chain with a TLS transport socket: the handler gets the TLSSocket once the handshake is done
// and the client verified; the SecureContext is built here, once per chain config.
function withTransportSocket(handler: ChainHandler, chain: FilterChain, config: Listener, store: Store): ChainHandler {
  if (chain.tls === undefined) return handler;
  const stats = new SslStats(store, listenerStatRoot(config));
  const tls = new DownstreamTls(chain.tls, stats, chain.transportSocketConnectTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS);
  // io.istio.network.authn acts once the handshake is done (a plain chain has no principals).
  const authn = chain.istioAuthn;
  const wrapped: ChainHandler = {
    onConnection: (socket, facts) => tls.accept(socket, (secure) => {
      if (authn !== undefined) setIstioPrincipals(secure, facts, authn);
      handler.onConnection(secure, facts);
    }, facts?.transportProtocol === 'tls' ? facts.applicationProtocols : undefined),
    drain: () => handler.drain(),
  };
  innerHandlers.set(wrapped, handler);
  return wrapped;
}

// The inspectors of a listener's filters, in their order (original_dst is applied on accept).
function inspectionsOf(config: Listener, store: Store): Inspection[] {
  const out: Inspection[] = [];
  for (const filter of config.listenerFilters) {
    if (filter.type === TLS_INSPECTOR_TYPE) out.push({ inspector: new TlsInspector(store), disabled: filter.disabled });
    else if (filter.type === HTTP_INSPECTOR_TYPE) out.push({ inspector: new HttpInspector(store), disabled: filter.disabled });
  }
  return out;
}

// As Envoy: a listener bound to one address knows its connections' local address; only a wildcard
// one (0.0.0.0, ::, where REDIRECT-captured traffic arrives) asks each socket.
function connectionFacts(socket: net.Socket, local: { address: string; port: number } | undefined): ConnectionFacts {
  const sourceIp = socket.remoteAddress ?? '';
  return {
    destinationIp: local?.address ?? socket.localAddress ?? '',
    destinationPort: local?.port ?? socket.localPort ?? 0,
    sourceIp,
    sourcePort: socket.remotePort ?? 0,
    directSourceIp: sourceIp,
    serverName: '',
    transportProtocol: 'raw_buffer',
    applicationProtocols: [],
  };
}

function isWildcard(address: string): boolean {
  return net.isIP(address) === 0 || address === '0.0.0.0' || address === '::';
}
