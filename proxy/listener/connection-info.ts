// What a connection's format strings see (Envoy's connection-level StreamInfo): its addresses,
// the requested server name, the TLS peer, the filter state and the dynamic metadata (an internal
// connection's passthrough metadata). tcp_proxy's access log and tunnel headers, and
// set_filter_state's on_new_connection values, read it.
import type { Socket } from 'node:net';
import type { StreamInfo } from '../access-log/index.ts';
import { tlsInfo } from '../transport/index.ts';
import type { ConnectionFacts } from './filter-chain.ts';

export function recordConnection(info: StreamInfo, socket: Socket, facts: ConnectionFacts): void {
  info.downstreamLocalAddress = addressText(facts.destinationIp, facts.destinationPort);
  info.downstreamRemoteAddress = addressText(facts.sourceIp, facts.sourcePort);
  info.downstreamDirectRemoteAddress = addressText(facts.directSourceIp, facts.sourcePort);
  if (facts.serverName !== '') info.requestedServerName = facts.serverName;
  info.filterState = facts.filterState;
  info.dynamicMetadata = facts.dynamicMetadata as StreamInfo['dynamicMetadata'];
  const tls = tlsInfo(socket);
  if (tls === undefined) return;
  info.downstreamTlsVersion = tls.version;
  info.downstreamPeerUriSan = tls.peerUriSans.join(',');
  info.downstreamLocalCertificate = tls;
  info.downstreamPeerSubject = tls.peerSubject;
  if (tls.serverName !== '') info.requestedServerName = tls.serverName;
}

// An internal connection's address (envoy://name/id) has no port; IPv6 goes in brackets.
function addressText(ip: string, port: number): string {
  if (ip.startsWith('envoy://')) return ip;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
