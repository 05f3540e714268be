// Istio's network istio.metadata_exchange in front of an HTTP connection manager (older istiods'
// virtualInbound chains). As in Istio's proxy it acts only on a connection whose TLS negotiated its
// protocol (`istio-peer-exchange`): this proxy's exchange header goes out, the peer's is read off
// the start of what arrives (proxy/istio/exchange.ts), and the bytes after it go to the connection
// manager's codec. The peer it read goes into the connection's filter state as
// wasm.downstream_peer (older Istio's key), where istio.stats on the connection's streams finds it.
// Any other connection goes straight to the connection manager; chains without the filter are not
// wrapped at all.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { MetadataExchangeConfig } from '../config/model.ts';
import { FilterState } from '../filter-state/index.ts';
import { ExchangeReader, exchangeHeader } from '../istio/exchange.ts';
import { DOWNSTREAM_PEER_KEY, DownstreamPeer } from '../istio/peer-state.ts';
import { workloadFromStruct } from '../istio/workload-metadata.ts';
import type { ChainHandler, ConnectionFacts } from '../listener/index.ts';
import type { FilterNode } from './filters/index.ts';
import { LiveList } from '../collections/live-list.ts';

const ignoreError = (): void => {}; // 'close' follows

export function withNetworkPeerExchange(handler: ChainHandler, config: MetadataExchangeConfig, node: FilterNode | undefined): ChainHandler {
  const header = exchangeHeader(workloadFromStruct(node?.metadata ?? {}, new Set()), node?.id ?? '');
  const labels = new Set(config.additionalLabels);
  // Connections still exchanging are idle to the connection manager: a drain closes them.
  const exchanging = new LiveList<Socket>();
  return {
    onConnection(socket: Socket, facts: ConnectionFacts): void {
      if ((socket as TLSSocket).alpnProtocol !== config.protocol) {
        handler.onConnection(socket, facts);
        return;
      }
      socket.write(header);
      const entry = exchanging.add(socket);
      const reader = new ExchangeReader(labels);
      // A peer gone before its header was whole leaves nothing to serve.
      const onGone = (): void => {
        stop();
        socket.destroy();
      };
      const stop = (): void => {
        exchanging.delete(entry);
        socket.off('data', onData);
        socket.off('end', onGone);
        socket.off('close', onGone);
        socket.off('error', ignoreError);
        socket.pause();
      };
      const onData = (chunk: Buffer): void => {
        const rest = reader.push(chunk);
        if (!reader.done) return;
        stop();
        if (rest.length > 0) socket.unshift(rest);
        if (reader.peer !== undefined) (facts.filterState ??= new FilterState()).set(DOWNSTREAM_PEER_KEY, new DownstreamPeer(reader.peer), { lifeSpan: 'Connection' });
        socket.resume();
        handler.onConnection(socket, facts);
      };
      socket.on('error', ignoreError);
      socket.on('data', onData);
      socket.once('end', onGone);
      socket.once('close', onGone);
    },
    drain: () => {
      for (const socket of exchanging) socket.destroy();
      handler.drain();
    },
  };
}
