// RBAC: Envoy's role based access control engine, shared by the HTTP filter (http/filters/rbac.ts)
// and the network filter (listener/rbac-filter.ts).
export { RbacEngine, deniedDetails, type RbacDecision, type RbacInput, type RbacPeer } from './engine.ts';
export { policySetOf, type RbacPolicySet } from './policy-set.ts';
export { RbacCheck } from './check.ts';
export { peerOf } from './peer.ts';
