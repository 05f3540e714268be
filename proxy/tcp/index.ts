// L4: Envoy's tcp_proxy, and the byte relay and upstream connections it shares with HTTP upgrades.
export { TcpProxyHandler, type TcpProxyContext } from './tcp-proxy.ts';
export { Relay, closeAfterFlush, type RelayObserver } from './relay.ts';
export { connectUpstream, upstreamFlowStats, type ConnectOutcome, type UpstreamFlowStats } from './upstream-connection.ts';
