// Istio's io.istio.network.authn network filter (older istiods: sidecars' inbound chains, gateways'
// HTTP chains and, with `shared`, waypoints' connect_terminate). Once the TLS handshake is done and
// the peer presented a certificate, it puts the first spiffe:// URI SAN of the peer's and of this
// side's certificate in the connection's filter state as io.istio.peer_principal and
// io.istio.local_principal: read-only, for the connection, and with `shared` passed once to the
// upstream connections its streams make (to the internal listener behind connect_terminate).
// Readers: RBAC's filter_state principals, %FILTER_STATE(...)% and istio.stats' server side
// (serverPrincipals below). A plain connection gets nothing, as in Istio. The local principal is read when first asked (parsing the local certificate at every
// handshake was a measured cost of Legate's TLS).
import type net from 'node:net';
import type { IstioAuthnConfig } from '../config/model.ts';
import { FilterState, StringAccessor, type FilterStateObject } from '../filter-state/index.ts';
import { tlsInfo, type TlsInfo } from '../transport/index.ts';
import type { ConnectionFacts } from './filter-chain.ts';

export const PEER_PRINCIPAL_KEY = 'io.istio.peer_principal';
export const LOCAL_PRINCIPAL_KEY = 'io.istio.local_principal';

const spiffe = (sans: readonly string[]): string | undefined => sans.find((san) => san.startsWith('spiffe://'));

// Istio's Principal is a Hashable: shared, it keeps pooled upstream connections apart by principal.
class LocalPrincipal implements FilterStateObject {
  private readonly tls: TlsInfo;

  constructor(tls: TlsInfo) {
    this.tls = tls;
  }

  asString(): string | undefined {
    return spiffe(this.tls.localUriSans);
  }

  get hashKey(): string | undefined {
    return this.asString();
  }
}

/** Sets the principals of a secure connection that presented a peer certificate. */
export function setIstioPrincipals(socket: net.Socket, facts: ConnectionFacts, config: IstioAuthnConfig): void {
  const tls = tlsInfo(socket);
  // A presented certificate has a subject or SANs (TlsInfo keeps both empty without one).
  if (tls === undefined || (tls.peerSubject === '' && tls.peerUriSans.length === 0)) return;
  const state = (facts.filterState ??= new FilterState());
  const options = { readOnly: true, lifeSpan: 'Connection' as const, sharing: config.shared ? ('ONCE' as const) : ('NONE' as const) };
  const peer = spiffe(tls.peerUriSans);
  if (peer !== undefined) state.set(PEER_PRINCIPAL_KEY, new StringAccessor(peer, true), options);
  // Without a spiffe:// SAN of its own it reads as absent (Istio sets no object then).
  state.set(LOCAL_PRINCIPAL_KEY, new LocalPrincipal(tls), options);
}

/**
 * The peer's and this side's principals as istio.stats reports them on the server side: those the
 * filter state holds (this filter's, or shared from the connection before an internal listener),
 * else the downstream TLS connection's first URI SANs; '' when unknown.
 */
export function serverPrincipals(socket: net.Socket, state: FilterState | undefined): { peer: string; local: string } {
  const peer = state?.get(PEER_PRINCIPAL_KEY)?.asString();
  const local = state?.get(LOCAL_PRINCIPAL_KEY)?.asString();
  if (peer !== undefined || local !== undefined) return { peer: peer ?? '', local: local ?? '' };
  const tls = tlsInfo(socket);
  return { peer: tls?.peerUriSans[0] ?? '', local: tls?.localUriSans[0] ?? '' };
}
