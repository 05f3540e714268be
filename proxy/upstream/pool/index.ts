// Upstream connection pools: the HTTP/1 and HTTP/2 pools per host, and the one upstream connect that the
// pools, the TCP proxy and HTTP upgrades share.
export type * from './types.ts';
export { Http1Pool, type Http1PoolOptions } from './http1-pool.ts';
export { Http2Pool, type Http2CodecFactory, type Http2PoolOptions } from './http2-pool.ts';
export { connect, ConnectAttempt, type ConnectCallbacks, type ConnectFailureReason, type ConnectOptions, type OpenSocket, type PoolCluster } from './connect.ts';
