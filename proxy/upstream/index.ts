// The upstream part: clusters, hosts, load balancing and connection pools.
export { ClusterManager, type OutlierEjectionListener } from './cluster-manager.ts';
export { UpstreamCluster } from './cluster.ts';
export type { UpstreamTlsOptions } from '../transport/index.ts';
export { Host, HEALTH_FLAG, hostAddress } from './host.ts';
export { tlsOptionsWithFilterState } from './tls-from-filter-state.ts';
export { createLoadBalancer } from './lb/index.ts';
export { ClusterStats } from './cluster-stats.ts';
export { clusterStatuses, mergeClusterStatuses, type ClusterStatus, type HostStatus } from './cluster-status.ts';
export { HealthCheckManager, type HealthChangeListener, type HostHealthStatus } from './health-check.ts';
export {
  connect,
  ConnectAttempt,
  Http1Pool,
  Http2Pool,
  type Cancellable,
  type ClientCodecFactory,
  type ConnectCallbacks,
  type ConnectFailureReason,
  type ConnectOptions,
  type HttpConnectionPool,
  type HttpPoolCallbacks,
  type NewStreamOptions,
  type OpenSocket,
  type PoolCluster,
  type PoolFailureReason,
} from './pool/index.ts';
export { sendAsyncRequest, type AsyncCallbacks, type AsyncFailure, type AsyncRequest, type AsyncResponse } from './async-client.ts';
export { GrpcUnaryClient, protoMessages, type GrpcTarget, type UnaryMessages } from './grpc-unary-client.ts';
