// redis_url forms: standalone, Sentinel and Cluster, and the ioredis client each one makes.
import t from 'tap';
import { clientPlan, parseRedisUrl } from '../../../proxy/ratelimit/index.ts';

t.test('standalone', async (t) => {
  t.same(parseRedisUrl('redis://127.0.0.1:6380'), { kind: 'standalone', node: { host: '127.0.0.1', port: 6380 }, db: 0, tls: false });
  t.same(parseRedisUrl('rediss://user:p%40ss@cache.internal/3'), {
    kind: 'standalone',
    node: { host: 'cache.internal', port: 6379 },
    db: 3,
    tls: true,
    username: 'user',
    password: 'p@ss',
  });
  t.same(parseRedisUrl('redis://:secret@[::1]:7000').kind === 'standalone' && parseRedisUrl('redis://:secret@[::1]:7000'), {
    kind: 'standalone',
    node: { host: '::1', port: 7000 },
    db: 0,
    tls: false,
    password: 'secret',
  });
  const plan = clientPlan(parseRedisUrl('redis://:secret@127.0.0.1:6380/2'));
  t.equal(plan.kind, 'redis');
  t.match(plan.options, { host: '127.0.0.1', port: 6380, db: 2, password: 'secret', enableAutoPipelining: true, enableOfflineQueue: false });
});

t.test('sentinel', async (t) => {
  const target = parseRedisUrl('redis-sentinel://:pw@s1:26379,s2:26380,s3/mymaster/1');
  t.same(target, {
    kind: 'sentinel',
    sentinels: [
      { host: 's1', port: 26379 },
      { host: 's2', port: 26380 },
      { host: 's3', port: 26379 },
    ],
    masterName: 'mymaster',
    db: 1,
    tls: false,
    password: 'pw',
  });
  const plan = clientPlan(target);
  t.equal(plan.kind, 'redis');
  t.match(plan.options, { name: 'mymaster', sentinels: [{ host: 's1' }, { host: 's2' }, { host: 's3' }], password: 'pw', db: 1 });
  t.throws(() => parseRedisUrl('redis-sentinel://s1:26379'), { message: /name the Sentinel master/ });
});

t.test('cluster, by scheme or by a list of seeds', async (t) => {
  const byScheme = parseRedisUrl('redis-cluster://n1:7000,n2:7001');
  const byList = parseRedisUrl('redis://n1:7000, redis://n2:7001');
  const byHosts = parseRedisUrl('redis://n1:7000,n2:7001');
  for (const target of [byScheme, byList, byHosts]) {
    t.same(target, { kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }], tls: false });
  }
  const plan = clientPlan(parseRedisUrl('redis-cluster://:pw@n1:7000'));
  t.equal(plan.kind, 'cluster');
  if (plan.kind === 'cluster') {
    t.same(plan.nodes, [{ host: 'n1', port: 7000 }]);
    t.match(plan.options, { enableOfflineQueue: false, enableAutoPipelining: true, redisOptions: { password: 'pw' } });
    t.notOk('retryStrategy' in (plan.options.redisOptions ?? {}), 'a cluster takes clusterRetryStrategy instead');
  }
  t.throws(() => parseRedisUrl('redis-cluster://n1:7000/0'), { message: /no database number/ });
});

t.test('anything else is a clear error', async (t) => {
  t.throws(() => parseRedisUrl('http://127.0.0.1:6379'), { message: /is not redis:\/\/host:port/ });
  t.throws(() => parseRedisUrl('redis://127.0.0.1:99999'), { message: /port 99999 is out of range/ });
  t.throws(() => parseRedisUrl('redis://127.0.0.1:6379/x'), { message: /'x' is not a database number/ });
});
