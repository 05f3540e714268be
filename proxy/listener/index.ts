// Listeners: sockets, filter chain selection, and hand-off to the chain's network filter.
export { ListenerManager, type BoundListener } from './manager.ts';
export { ActiveListener, type ChainHandler, type ChainHandlerFactory } from './active-listener.ts';
export { FilterChainMatcher, type ConnectionFacts } from './filter-chain.ts';
export { chainSelector, type ChainSelector } from './filter-chain-matcher.ts';
export { filterDisabled } from './filter-disabled.ts';
export { originalDstUnavailableMessage } from './original-dst/handoff.ts';
export { FilterStateSetter } from './set-filter-state.ts';
export { recordConnection } from './connection-info.ts';
export { serverPrincipals } from './istio-authn.ts';
