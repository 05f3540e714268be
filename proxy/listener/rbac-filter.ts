// envoy.filters.network.rbac: the chain's RBAC filters judge each connection once, when it reaches
// the chain (after the TLS handshake, so the peer certificate is known) and before any byte is
// proxied; a denied connection is closed. Envoy decides on the first byte (ONE_TIME_ON_FIRST_BYTE);
// Legate decides before it, so a denied client never reaches the terminal filter, nor its upstream.
// Stats: <stat_prefix>.rbac.{allowed,denied,shadow_allowed,shadow_denied}.
import type { Socket } from 'node:net';
import type { FilterChain } from '../config/model.ts';
import { peerOf, policySetOf, RbacCheck, type RbacInput } from '../rbac/index.ts';
import type { Store } from '../stats/index.ts';
import { tlsInfo } from '../transport/index.ts';
import type { ChainHandler } from './chain-handler.ts';
import type { ConnectionFacts } from './filter-chain.ts';

/** The chain's handler behind its RBAC filters; the handler itself when it has none. */
export function withNetworkRbac(handler: ChainHandler, chain: FilterChain, store: Store): ChainHandler {
  if (chain.rbac === undefined || chain.rbac.length === 0) return handler;
  const filters = chain.rbac.map((config) => ({ policies: policySetOf(config), check: new RbacCheck(store, config.statPrefix, config) }));
  return {
    onConnection: (socket, facts) => {
      const input = connectionInput(socket, facts);
      for (const filter of filters) {
        const decision = filter.check.decide(filter.policies, input);
        if (decision !== undefined && !decision.allowed) {
          socket.destroy();
          return;
        }
      }
      handler.onConnection(socket, facts);
    },
    drain: () => handler.drain(),
  };
}

function connectionInput(socket: Socket, facts: ConnectionFacts | undefined): RbacInput {
  const direct = facts?.directSourceIp ?? socket.remoteAddress ?? '';
  return {
    directRemoteIp: direct,
    remoteIp: facts?.sourceIp ?? direct,
    localIp: facts?.destinationIp ?? socket.localAddress ?? '',
    localPort: facts?.destinationPort ?? socket.localPort ?? 0,
    // The TLS inspector's SNI, else the one the terminated handshake saw.
    serverName: facts?.serverName || (tlsInfo(socket)?.serverName ?? ''),
    peer: peerOf(socket),
    filterState: facts?.filterState,
    // An internal connection's passthrough metadata (the endpoint's or cluster's Structs).
    dynamicMetadata: facts?.dynamicMetadata as RbacInput['dynamicMetadata'],
  };
}
