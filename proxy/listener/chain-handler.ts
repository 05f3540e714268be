// What a filter chain hands its connections to: the terminal network filter (an HTTP connection
// manager or a TCP proxy), possibly behind the chain's TLS and RBAC filters.
import type net from 'node:net';
import type { ConnectionFacts } from './filter-chain.ts';

export interface ChainHandler {
  /** Takes ownership of an accepted connection. */
  onConnection(socket: net.Socket, facts: ConnectionFacts): void;
  /** Asks this handler's connections to finish: idle ones close now, busy ones after their request. */
  drain(): void;
}
