// redis_url of the embedded rate limit service, in the three deployments ioredis can reach:
//   redis://[user:password@]host:port[/db]            standalone (rediss:// for TLS)
//   redis-sentinel://[user:password@]h1:p1,h2:p2/master[/db]   the master a Sentinel group names
//   redis-cluster://[user:password@]h1:p1,h2:p2       a Redis Cluster, from any seed nodes
// A comma-separated list of redis:// URLs also means a cluster (its seed nodes).

export interface RedisNode {
  host: string;
  port: number;
}

interface Credentials {
  username?: string;
  password?: string;
  tls: boolean;
}

export type RedisTarget =
  | ({ kind: 'standalone'; node: RedisNode; db: number } & Credentials)
  | ({ kind: 'sentinel'; sentinels: RedisNode[]; masterName: string; db: number } & Credentials)
  | ({ kind: 'cluster'; nodes: RedisNode[] } & Credentials);

const URL_SHAPE = /^(redis|rediss|redis-sentinel|redis-cluster):\/\/(?:([^@/]*)@)?([^/?#]+)(?:\/([^?#]*))?$/;

export function parseRedisUrl(url: string): RedisTarget {
  const parts = url.split(',').map((part) => part.trim());
  if (parts.length > 1 && parts.every((part) => /^rediss?:\/\//.test(part))) {
    const nodes: RedisNode[] = [];
    let first: Credentials | undefined;
    for (const part of parts) {
      const seed = parseRedisUrl(part);
      if (seed.kind !== 'standalone') throw new Error(`redis_url '${url}': each cluster seed is one redis://host:port`);
      nodes.push(seed.node);
      first ??= { username: seed.username, password: seed.password, tls: seed.tls };
    }
    return { kind: 'cluster', nodes, ...first! };
  }
  const m = URL_SHAPE.exec(url);
  if (m === null) throw new Error(`redis_url '${url}' is not redis://host:port, redis-sentinel://host:port,.../master or redis-cluster://host:port,...`);
  const [, scheme, userinfo, hosts, rest] = m;
  const credentials: Credentials = { tls: scheme === 'rediss' };
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const username = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
    if (username !== '') credentials.username = username;
    if (colon >= 0) credentials.password = decodeURIComponent(userinfo.slice(colon + 1));
  }
  const nodes = hosts.split(',').map((h) => node(h, url, scheme === 'redis-sentinel' ? 26379 : 6379));
  const path = (rest ?? '').split('/').filter((s) => s !== '');
  switch (scheme) {
    case 'redis-sentinel':
      if (path.length === 0) throw new Error(`redis_url '${url}': name the Sentinel master after the hosts (redis-sentinel://host:26379/mymaster)`);
      return { kind: 'sentinel', sentinels: nodes, masterName: decodeURIComponent(path[0]), db: db(path[1], url), ...credentials };
    case 'redis-cluster':
      if (path.length > 0) throw new Error(`redis_url '${url}': a Redis Cluster has no database number`);
      return { kind: 'cluster', nodes, ...credentials };
    default:
      if (nodes.length > 1) return { kind: 'cluster', nodes, ...credentials };
      return { kind: 'standalone', node: nodes[0], db: db(path[0], url), ...credentials };
  }
}

function node(text: string, url: string, defaultPort: number): RedisNode {
  // [v6]:port, host:port, or a bare host
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(text.trim());
  if (m === null) throw new Error(`redis_url '${url}': '${text}' is not host:port`);
  const port = m[3] === undefined ? defaultPort : Number(m[3]);
  if (port < 1 || port > 65535) throw new Error(`redis_url '${url}': port ${port} is out of range`);
  return { host: m[1] ?? m[2], port };
}

function db(text: string | undefined, url: string): number {
  if (text === undefined) return 0;
  if (!/^\d+$/.test(text)) throw new Error(`redis_url '${url}': '${text}' is not a database number`);
  return Number(text);
}
