// The request body kept for retries is bounded, as Envoy bounds it: by the route's (else the
// virtual host's) per_request_buffer_limit_bytes, never above the listener's
// per_connection_buffer_limit_bytes (1 MiB by default). A body past the bound streams to the
// upstream and is not retried; the cluster counts the retry given up as retry_or_shadow_abandoned.
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { nodeRequest, statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

const KiB = 1024;
// Each path's first attempt reads the whole body and answers 503; later attempts answer 200 with
// the size they received.
const attempts = new Map<string, number[]>();
const upstream = await startUpstream('app', (req, res) => {
  let size = 0;
  req.on('data', (c: Buffer) => (size += c.length));
  req.on('end', () => {
    const seen = attempts.get(req.url!) ?? [];
    seen.push(size);
    attempts.set(req.url!, seen);
    res.writeHead(seen.length === 1 ? 503 : 200, { 'content-type': 'text/plain' });
    res.end(String(size));
  });
});
t.teardown(() => upstream.close());

const retry = { retry_on: '5xx', num_retries: 1, retry_back_off: { base_interval: '0.001s' } };
const route = (prefix: string, extra: object = {}) => ({ match: { prefix }, route: { cluster: 'app', retry_policy: retry }, ...extra });
const legate = await startLegate(bootstrap(
  [
    httpListener('edge', {
      name: 'rc',
      virtual_hosts: [
        { name: 'limited', domains: ['limited'], per_request_buffer_limit_bytes: 64 * KiB, routes: [route('/')] },
        {
          name: 'all',
          domains: ['*'],
          routes: [route('/route-limit', { per_request_buffer_limit_bytes: 64 * KiB }), route('/')],
        },
      ],
    }),
    {
      ...httpListener('small', routes([route('/big-route-limit', { per_request_buffer_limit_bytes: 4096 * KiB }), route('/')])),
      per_connection_buffer_limit_bytes: 128 * KiB,
    },
  ],
  [staticCluster('app', [{ port: upstream.port }])],
));
t.teardown(() => legate.stop());

async function post(listener: string, path: string, bytes: number, host = 'x') {
  const reply = await nodeRequest(legate.url(path, listener), { method: 'POST', headers: { host }, body: 'b'.repeat(bytes) });
  return { status: reply.status, attempts: attempts.get(path) ?? [] };
}
const abandoned = async () => (await statsMap(legate.adminUrl(''))).get('cluster.app.retry_or_shadow_abandoned') ?? 0;

t.test("a route's per_request_buffer_limit_bytes: past it the body streams and is not retried", async (t) => {
  const before = await abandoned();
  const big = await post('edge', '/route-limit/big', 256 * KiB);
  t.equal(big.status, 503, 'the first answer stands');
  t.same(big.attempts, [256 * KiB], 'one attempt, with the whole body');
  t.equal(await abandoned(), before + 1, 'retry_or_shadow_abandoned');
  const small = await post('edge', '/route-limit/small', 16 * KiB);
  t.equal(small.status, 200, 'a body within the limit is retried');
  t.same(small.attempts, [16 * KiB, 16 * KiB], 'and replayed whole');
});

t.test("a virtual host's per_request_buffer_limit_bytes applies to its routes", async (t) => {
  const big = await post('edge', '/vhost/big', 256 * KiB, 'limited');
  t.equal(big.status, 503);
  t.same(big.attempts, [256 * KiB]);
  const small = await post('edge', '/vhost/small', 16 * KiB, 'limited');
  t.equal(small.status, 200);
});

t.test("without a route limit the listener's 1 MiB default bounds the replay", async (t) => {
  const before = await abandoned();
  const big = await post('edge', '/default/big', 2048 * KiB);
  t.equal(big.status, 503);
  t.same(big.attempts, [2048 * KiB]);
  t.equal(await abandoned(), before + 1);
  const fits = await post('edge', '/default/fits', 512 * KiB);
  t.equal(fits.status, 200);
  t.same(fits.attempts, [512 * KiB, 512 * KiB]);
});

t.test("the listener's per_connection_buffer_limit_bytes caps even a larger route limit", async (t) => {
  const capped = await post('small', '/big-route-limit/x', 256 * KiB);
  t.equal(capped.status, 503, 'a 4 MiB route limit does not lift the 128 KiB listener limit');
  t.same(capped.attempts, [256 * KiB]);
  const fits = await post('small', '/other/fits', 64 * KiB);
  t.equal(fits.status, 200);
  t.same(fits.attempts, [64 * KiB, 64 * KiB]);
});
