// envoy.filters.network.ext_authz: each connection of the chain is checked once with the gRPC
// authorization service (its peers, principals and server name) before the terminal filter gets
// it. OK hands it on; a denial, or an error without failure_mode_allow, closes it. Envoy checks on
// the first byte; Legate checks before it (as its network RBAC does), holding the socket unread,
// so a refused client never reaches the terminal filter nor its upstream.
// Stats, as Envoy's: ext_authz.<stat_prefix>.{total,ok,denied,error,failure_mode_allowed,cx_closed}
// and the gauge active (checks in flight).
import type { Socket } from 'node:net';
import type { NetworkExtAuthzConfig } from '../../../config/model.ts';
import type { ChainHandler, ConnectionFacts } from '../../../listener/index.ts';
import type { Counter, Gauge, Store } from '../../../stats/index.ts';
import { tlsInfo } from '../../../transport/index.ts';
import type { ClusterManager } from '../../../upstream/index.ts';
import { buildConnectionCheckRequest } from './check-request.ts';
import { GrpcAuthorizationService } from './grpc-service.ts';

interface NetworkExtAuthz {
  config: NetworkExtAuthzConfig;
  service: GrpcAuthorizationService;
  stats: { total: Counter; ok: Counter; denied: Counter; error: Counter; failureModeAllowed: Counter; cxClosed: Counter; active: Gauge };
}

/** The chain's handler behind its ext_authz filters; the handler itself when it has none. */
export function withNetworkExtAuthz(handler: ChainHandler, configs: readonly NetworkExtAuthzConfig[] | undefined, store: Store, clusters: ClusterManager): ChainHandler {
  if (configs === undefined || configs.length === 0) return handler;
  const filters: NetworkExtAuthz[] = configs.map((config) => {
    const prefix = `ext_authz.${config.statPrefix}.`;
    const c = (name: string) => store.counter(prefix + name);
    return {
      config,
      service: new GrpcAuthorizationService(clusters, config.service),
      stats: { total: c('total'), ok: c('ok'), denied: c('denied'), error: c('error'), failureModeAllowed: c('failure_mode_allowed'), cxClosed: c('cx_closed'), active: store.gauge(`${prefix}active`) },
    };
  });
  return {
    onConnection: (socket, facts) => {
      // Unread until the checks pass: the terminal filter reads what arrived meanwhile.
      socket.pause();
      checkInTurn(filters, 0, socket, facts, () => {
        socket.resume(); // flowing from the next tick: the handler attaches (or pauses) first
        handler.onConnection(socket, facts);
      });
    },
    drain: () => handler.drain(),
  };
}

function checkInTurn(filters: readonly NetworkExtAuthz[], index: number, socket: Socket, facts: ConnectionFacts, pass: () => void): void {
  if (index === filters.length) {
    pass();
    return;
  }
  const { config, service, stats } = filters[index];
  const serverName = facts.serverName || (tlsInfo(socket)?.serverName ?? '');
  const remote = `${facts.directSourceIp ?? socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`;
  const local = `${facts.destinationIp ?? socket.localAddress ?? ''}:${facts.destinationPort ?? socket.localPort ?? 0}`;
  const request = buildConnectionCheckRequest(socket, remote, local, serverName, config);
  stats.total.inc();
  stats.active.add(1);
  let settled = false;
  const onGone = (): void => {
    if (settled) return;
    settled = true;
    stats.active.sub(1);
    call.cancel();
  };
  socket.on('error', () => {}); // 'close' follows
  socket.once('close', onGone);
  const call = service.check(request, undefined, (response) => {
    if (settled) return;
    settled = true;
    stats.active.sub(1);
    socket.off('close', onGone);
    if (response.status === 'ok') {
      stats.ok.inc();
      checkInTurn(filters, index + 1, socket, facts, pass);
      return;
    }
    if (response.status === 'denied') stats.denied.inc();
    else {
      stats.error.inc();
      if (config.failureModeAllow) {
        stats.failureModeAllowed.inc();
        checkInTurn(filters, index + 1, socket, facts, pass);
        return;
      }
    }
    stats.cxClosed.inc();
    socket.destroy();
  });
}
