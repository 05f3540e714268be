// The worker's internal listeners by name (Envoy's thread-local internal listener registry and
// its envoy_internal client connection factory). Each Legate worker is a process with its own
// listeners, so this is per process: a connection never leaves the worker that made it.
import type { SharedObject } from '../../filter-state/index.ts';
import { INTERNAL_CLIENT_ADDRESS, InternalSocket } from './internal-socket.ts';

/** Envoy's default when buffer_size_kb is not given: 1024 KiB. */
export const DEFAULT_INTERNAL_BUFFER_BYTES = 1024 * 1024;

/** Takes the listener's end of a new connection. */
export type InternalAcceptor = (socket: InternalSocket) => void;

export interface InternalAddress {
  serverListenerName: string;
  endpointId: string;
}

export class InternalListenerRegistry {
  private readonly listeners = new Map<string, InternalAcceptor>();
  /** Set by envoy.bootstrap.internal_listener; without the extension every connection fails, as in Envoy. */
  private bufferSize: number | undefined;

  /** The bootstrap extension's settings (undefined: not configured). */
  configure(bufferSizeBytes: number | undefined): void {
    this.bufferSize = bufferSizeBytes;
  }

  /** Registers a listener; the returned function unregisters it (if it is still the one under that name). */
  register(name: string, accept: InternalAcceptor): () => void {
    this.listeners.set(name, accept);
    return () => {
      if (this.listeners.get(name) === accept) this.listeners.delete(name);
    };
  }

  /**
   * The connecting end of a connection to the named listener. It emits 'connect' on the next tick
   * once the listener has its end, or is destroyed with EINVAL when there is no such listener
   * (Envoy's connect() to a peer that is not there), which the caller counts as a connect failure.
   * `passthroughMetadata` (internal_upstream) becomes the listener's end's dynamic metadata, and
   * `shared` (the filter state objects shared with the upstream) its filter state.
   */
  connect(address: InternalAddress, allowHalfOpen: boolean, passthroughMetadata?: Readonly<Record<string, unknown>>, shared?: readonly SharedObject[]): InternalSocket {
    const target = `envoy://${address.serverListenerName}/${address.endpointId}`;
    const bufferSize = this.bufferSize ?? DEFAULT_INTERNAL_BUFFER_BYTES;
    const client = new InternalSocket(INTERNAL_CLIENT_ADDRESS, target, bufferSize, allowHalfOpen);
    const accept = this.bufferSize === undefined ? undefined : this.listeners.get(address.serverListenerName);
    if (accept === undefined) {
      process.nextTick(() => client.destroy(Object.assign(new Error('immediate connect error: Invalid argument'), { code: 'EINVAL', syscall: 'connect' })));
      return client;
    }
    // The listener's end, like an accepted TCP socket, ends its side when the peer ends its own,
    // unless its filter asks for half-close (tcp_proxy sets allowHalfOpen).
    const server = new InternalSocket(target, INTERNAL_CLIENT_ADDRESS, bufferSize, false);
    server.passthroughMetadata = passthroughMetadata;
    server.sharedFilterState = shared;
    InternalSocket.pair(client, server);
    process.nextTick(() => {
      if (client.destroyed) {
        server.destroy(); // given up before the listener saw it
        return;
      }
      accept(server);
      client.emit('connect');
    });
    return client;
  }
}

/** This process's registry. */
export const internalListeners = new InternalListenerRegistry();
