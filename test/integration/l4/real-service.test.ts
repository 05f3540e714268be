// A real TCP service through tcp_proxy: redis-server behind Legate, driven by a real Redis client
// (ioredis): commands, a pipeline, a 4 MiB value and pub/sub, where the server pushes bytes the
// client never asked for in that moment. Skips with the reason named when redis-server is missing.
import t from 'tap';
import { Redis } from 'ioredis';
import { bootstrap, staticCluster } from '../../support/bootstrap.ts';
import { statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { redisMissing, startRedis } from '../../support/redis.ts';
import { tcpListener } from './support.ts';

const missing = redisMissing();
if (missing !== undefined) {
  t.plan(0, missing);
  process.exit(0);
}

const redis = await startRedis();
t.teardown(() => redis.stop());
const legate = await startLegate(bootstrap([tcpListener('redis', 'redis')], [staticCluster('redis', [{ port: redis.port }])]));
t.teardown(() => legate.stop());

const client = (name: string) => {
  const c = new Redis({ host: '127.0.0.1', port: legate.port('redis'), connectionName: name, maxRetriesPerRequest: 0, enableOfflineQueue: true });
  t.teardown(() => c.disconnect());
  return c;
};

t.test('commands, a pipeline and a 4 MiB value round-trip through Legate', async (t) => {
  const c = client('basic');
  t.equal(await c.set('greeting', 'hello through legate'), 'OK');
  t.equal(await c.get('greeting'), 'hello through legate');
  const pipeline = c.pipeline();
  for (let i = 0; i < 1000; i++) pipeline.incr('counter');
  const results = await pipeline.exec();
  t.equal(results?.length, 1000);
  t.equal(await c.get('counter'), '1000', 'every pipelined command arrived, in order');
  const big = Buffer.alloc(4 * 1024 * 1024, 'legate');
  await c.set('big', big);
  const back = await c.getBuffer('big');
  t.ok(back?.equals(big), 'the 4 MiB value came back unchanged');
  const list = await c.client('LIST');
  t.match(String(list), /name=basic/, 'redis sees the client connection through Legate');
});

t.test('pub/sub: the server pushes messages to a subscriber through the proxy', async (t) => {
  const sub = client('sub');
  const pub = client('pub');
  await sub.subscribe('news');
  const received: string[] = [];
  const all = new Promise<void>((resolve) =>
    sub.on('message', (_channel: string, message: string) => {
      received.push(message);
      if (received.length === 3) resolve();
    }),
  );
  for (const m of ['one', 'two', 'three']) await pub.publish('news', m);
  await all;
  t.same(received, ['one', 'two', 'three']);
});

t.test('the proxy counted the connections and bytes', async (t) => {
  const s = await statsMap(legate.adminUrl(''));
  t.ok((s.get('tcp.redis.downstream_cx_total') ?? 0) >= 3);
  t.ok((s.get('tcp.redis.downstream_cx_rx_bytes_total') ?? 0) > 4 * 1024 * 1024);
  t.ok((s.get('tcp.redis.downstream_cx_tx_bytes_total') ?? 0) > 4 * 1024 * 1024);
});
