// The connection manager's stream timeouts: stream_idle_timeout / route idle_timeout -> 408 SI,
// max_stream_duration -> 408 DT (HCM) or UMSDR (route), and a reset once the response started.
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, rawExchange, statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

// /silent never answers; /trickle sends headers and one chunk, then goes quiet.
const held: (() => void)[] = [];
const upstream = await startUpstream('slow', (req, res) => {
  req.resume();
  if (req.url === '/trickle') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first chunk');
  }
  held.push(() => res.destroy());
});
t.teardown(() => {
  for (const release of held) release();
  return upstream.close();
});

const legate = await startLegate(
  bootstrap(
    [
      httpListener(
        'ingress',
        routes([
          { match: { prefix: '/route-idle' }, route: { cluster: 'slow', timeout: '0s', idle_timeout: '0.2s', prefix_rewrite: '/silent' } },
          { match: { prefix: '/route-max' }, route: { cluster: 'slow', timeout: '0s', max_stream_duration: { max_stream_duration: '0.2s' }, prefix_rewrite: '/silent' } },
          { match: { prefix: '/' }, route: { cluster: 'slow', timeout: '0s' } },
        ]),
        { stream_idle_timeout: '0.3s' },
      ),
    ],
    [staticCluster('slow', [{ port: upstream.port }])],
  ),
);
t.teardown(() => legate.stop());

t.test('stream_idle_timeout answers 408 when nothing moves', async (t) => {
  const reply = await fetchText(legate.url('/silent'));
  t.equal(reply.status, 408);
  t.equal(reply.body, 'stream timeout');
  const stats = await statsMap(legate.adminUrl(''));
  t.ok((stats.get('http.ingress.downstream_rq_idle_timeout') ?? 0) >= 1);
});

t.test("a route's idle_timeout overrides the connection manager's", async (t) => {
  const started = performance.now();
  const reply = await fetchText(legate.url('/route-idle'));
  t.equal(reply.status, 408);
  t.ok(performance.now() - started < 3000, 'ended by the shorter route timeout');
});

t.test('an idle stream whose response started is reset', async (t) => {
  await t.rejects(fetchText(legate.url('/trickle')), 'the body never completes');
  const stats = await statsMap(legate.adminUrl(''));
  t.ok((stats.get('http.ingress.downstream_rq_tx_reset') ?? 0) >= 1, 'counted as a reset Legate sent');
});

t.test("a route's max_stream_duration answers 408", async (t) => {
  const reply = await fetchText(legate.url('/route-max'));
  t.equal(reply.status, 408);
  t.equal(reply.body, 'upstream max stream duration reached');
});

t.test('request_headers_timeout: headers that never finish get 408', async (t) => {
  const slowHeaders = await startLegate(
    bootstrap([httpListener('ingress', routes([{ match: { prefix: '/' }, route: { cluster: 'slow' } }]), { request_headers_timeout: '0.3s' })], [staticCluster('slow', [{ port: upstream.port }])]),
  );
  t.teardown(() => slowHeaders.stop());
  // Half a request head, then nothing: the proxy answers 408 and closes.
  const answer = await rawExchange(slowHeaders.port(), 'GET / HTTP/1.1\r\nhost: x\r\n', 10_000);
  t.match(answer, /^HTTP\/1\.1 408 /);
});
