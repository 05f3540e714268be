// A keep-alive connection pool for one upstream host, on undici. Timeouts are Legate's own
// (route, per-try, idle), so undici's header/body timeouts are off; connect_timeout is undici's.
import { Pool } from 'undici';
import type { Cluster } from '../config/model.ts';
import type { Host } from './host.ts';
import type { ClusterStats } from './cluster-stats.ts';

export function createPool(host: Host, cluster: Cluster, stats: ClusterStats): Pool {
  const origin = `http://${host.address}`;
  const maxConnections = cluster.circuitBreakers[0]?.maxConnections ?? 1024;
  const pool = new Pool(origin, {
    connections: maxConnections,
    pipelining: 1,
    allowH2: cluster.http2,
    connect: { timeout: cluster.connectTimeoutMs, noDelay: true },
    headersTimeout: 0,
    bodyTimeout: 0,
    keepAliveTimeout: Math.min(cluster.upstreamIdleTimeoutMs || 4_000, 60_000),
    keepAliveMaxTimeout: Math.max(cluster.upstreamIdleTimeoutMs, 1_000),
    maxRequestsPerClient: cluster.maxRequestsPerConnection || undefined,
  });
  pool.on('connect', () => {
    stats.upstreamCxTotal.inc();
    stats.upstreamCxActive.add(1);
    host.stats.cxTotal++;
    host.stats.cxActive++;
  });
  pool.on('disconnect', () => {
    stats.upstreamCxActive.sub(1);
    stats.upstreamCxDestroy.inc();
    host.stats.cxActive--;
  });
  pool.on('connectionError', (_origin, _targets, err: Error & { code?: string }) => {
    stats.upstreamCxConnectFail.inc();
    if (err.code === 'UND_ERR_CONNECT_TIMEOUT') stats.upstreamCxConnectTimeout.inc();
    host.stats.cxConnectFail++;
  });
  return pool;
}
