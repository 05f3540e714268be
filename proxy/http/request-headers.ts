// The request headers the connection manager sets before routing, as Envoy's
// mutateRequestHeaders: hop-by-hop removal (an upgrade keeps its Upgrade and Connection), the
// downstream address and internal/edge judgement with x-forwarded-for and -proto
// (downstream-address.ts), x-request-id, and x-forwarded-client-cert (xfcc.ts).
import { stripHopByHop } from '../router/index.ts';
import type { HttpConnectionManager } from '../config/model.ts';
import type { DownstreamAddressConfig } from './downstream-address.ts';
import { mutateDownstreamAddress, peerIp } from './downstream-address.ts';
import { newRequestId } from './headers.ts';
import type { HttpStream } from './stream.ts';
import { mutateXfcc } from './xfcc.ts';

export function prepareRequestHeaders(stream: HttpStream, config: HttpConnectionManager, addressConfig: DownstreamAddressConfig): void {
  const headers = stream.head.headers;
  const upgrade = stream.upgradeType !== undefined && stream.head.method !== 'CONNECT' ? headers.upgrade : undefined;
  stripHopByHop(headers, true);
  if (upgrade !== undefined) {
    headers.upgrade = upgrade;
    headers.connection = 'upgrade';
  }
  const verdict = mutateDownstreamAddress(addressConfig, headers, peerIp(stream.connection.socket, stream.connection.facts), stream.head.scheme === 'https');
  stream.internalRequest = verdict.internal;
  // An edge request lost its x-envoy-* control headers above; any that remain came from a peer
  // Envoy's rules trust, so the router may honour them (as Envoy's router does).
  stream.trustedDownstream = !verdict.edge;
  if (verdict.fromXff) stream.info.downstreamRemoteAddress = `${verdict.remoteAddress}:0`;
  if (config.generateRequestId && (headers['x-request-id'] === undefined || (!config.preserveExternalRequestId && verdict.edge))) {
    headers['x-request-id'] = newRequestId();
  }
  mutateXfcc(config, headers, stream.connection.socket);
}
