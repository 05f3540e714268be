// A keep-alive connection pool for one upstream host, on undici. Timeouts are Legate's own
// (route, per-try, idle, connect: connector.ts), so undici's are off.
import { Pool } from 'undici';
import type { Cluster } from '../config/model.ts';
import type { Host } from './host.ts';
import type { ClusterStats } from './cluster-stats.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import { createConnector } from './connector.ts';

// max_connections is Envoy's per-cluster limit; undici's is per host, so it caps each host's pool
// and the breaker counts the cluster's connections for cx_open and upstream_cx_overflow.
export function createPool(host: Host, cluster: Cluster, stats: ClusterStats, breaker: CircuitBreaker): Pool {
  const origin = `http://${host.address}`;
  const maxConnections = breaker.thresholds.maxConnections;
  const pool = new Pool(origin, {
    connections: maxConnections,
    pipelining: 1,
    allowH2: cluster.http2,
    connect: createConnector(cluster.connectTimeoutMs, cluster.http2),
    localAddress: cluster.upstreamBindAddress, // upstream_bind_config
    headersTimeout: 0,
    bodyTimeout: 0,
    maxHeaderSize: 60 * 1024, // Envoy's max_response_headers_kb default (undici's is 16 KiB)
    keepAliveTimeout: Math.min(cluster.upstreamIdleTimeoutMs || 4_000, 60_000),
    keepAliveMaxTimeout: Math.max(cluster.upstreamIdleTimeoutMs, 1_000),
    maxRequestsPerClient: cluster.maxRequestsPerConnection || undefined,
  });
  pool.on('connect', () => {
    stats.upstreamCxTotal.inc();
    stats.upstreamCxActive.add(1);
    host.stats.cxTotal++;
    host.stats.cxActive++;
    breaker.connectionOpened();
  });
  pool.on('disconnect', () => {
    stats.upstreamCxActive.sub(1);
    stats.upstreamCxDestroy.inc();
    host.stats.cxActive--;
    breaker.connectionClosed();
  });
  pool.on('connectionError', (_origin, _targets, err: Error & { code?: string }) => {
    stats.upstreamCxConnectFail.inc();
    if (err.code === 'UND_ERR_CONNECT_TIMEOUT') stats.upstreamCxConnectTimeout.inc();
    host.stats.cxConnectFail++;
  });
  return pool;
}
