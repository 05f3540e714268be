// Requests and responses through the proxy to a real upstream: methods and bodies, the headers
// Envoy adds (x-forwarded-proto, x-request-id, x-envoy-expected-rq-timeout-ms,
// x-envoy-upstream-service-time) and the hop-by-hop headers it must not forward either way.
import t from 'tap';
import { Agent, Client } from 'undici';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchJson, fetchText, nodeRequest } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { echoHandler, startUpstream, type Echo } from '../../support/upstream.ts';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const echo = await startUpstream('echo', echoHandler('echo'));
t.teardown(() => echo.close());
// Answers with hop-by-hop headers of its own, which must not reach the client.
const hoppy = await startUpstream('hoppy', (req, res) => {
  req.resume();
  req.once('end', () => {
    res.setHeader('connection', 'x-upstream-hop');
    res.setHeader('x-upstream-hop', 'secret');
    res.setHeader('keep-alive', 'timeout=7');
    res.setHeader('proxy-connection', 'keep-alive');
    res.setHeader('x-kept', 'yes');
    res.setHeader('set-cookie', ['a=1', 'b=2']);
    res.end('ok');
  });
});
t.teardown(() => hoppy.close());
// Answers with a 30 KB header: over undici's and node's 16 KiB defaults, within Envoy's 60 KiB.
const BIG_VALUE = 'v'.repeat(30_000);
const bigHeaders = await startUpstream('big-headers', (req, res) => {
  req.resume();
  req.once('end', () => res.writeHead(200, { 'x-big': BIG_VALUE }).end('big'));
});
t.teardown(() => bigHeaders.close());

const legate = await startLegate(
  bootstrap(
    [
      httpListener(
        'ingress',
        routes([
          { match: { prefix: '/hoppy' }, route: { cluster: 'hoppy' } },
          { match: { prefix: '/big-headers' }, route: { cluster: 'big-headers' } },
          { match: { prefix: '/timed' }, route: { cluster: 'echo', timeout: '3s' } },
          { match: { prefix: '/' }, route: { cluster: 'echo' } },
        ]),
      ),
    ],
    [staticCluster('echo', [{ port: echo.port }]), staticCluster('hoppy', [{ port: hoppy.port }]), staticCluster('big-headers', [{ port: bigHeaders.port }])],
  ),
);
t.teardown(() => legate.stop());

t.test('GET reaches the upstream and its answer reaches the client', async (t) => {
  const reply = await fetchText(legate.url('/some/path?q=1&r=two'), { headers: { 'x-custom': 'v' } });
  t.equal(reply.status, 200);
  const seen = JSON.parse(reply.body) as Echo;
  t.equal(seen.method, 'GET');
  t.equal(seen.url, '/some/path?q=1&r=two', 'path and query unchanged');
  t.equal(seen.headers['x-custom'], 'v', 'end-to-end headers forwarded');
  t.equal(seen.headers.host, `127.0.0.1:${legate.port()}`, 'the Host header is kept');
  t.equal(reply.headers['content-type'], 'application/json', "the upstream's headers reach the client");
  t.match(reply.headers['x-envoy-upstream-service-time'], /^\d+$/, 'x-envoy-upstream-service-time in ms');
});

t.test('POST body is forwarded byte for byte', async (t) => {
  const body = 'x'.repeat(10_000) + 'é';
  const seen = await fetchJson<Echo>(legate.url('/post'), { method: 'POST', body, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  t.equal(seen.method, 'POST');
  t.equal(seen.body, body);
  t.equal(seen.headers['content-length'], String(Buffer.byteLength(body)));
  t.equal(seen.headers['content-type'], 'text/plain; charset=utf-8');
});

t.test('the upstream sees x-forwarded-proto and a generated x-request-id', async (t) => {
  const first = await fetchJson<Echo>(legate.url('/a'));
  const second = await fetchJson<Echo>(legate.url('/a'));
  t.equal(first.headers['x-forwarded-proto'], 'http');
  t.match(first.headers['x-request-id'], UUID_V4, 'a UUID v4 when the client sent none');
  t.not(first.headers['x-request-id'], second.headers['x-request-id'], 'a new id per request');
});

t.test('an x-request-id from the client is kept', async (t) => {
  const seen = await fetchJson<Echo>(legate.url('/a'), { headers: { 'x-request-id': 'client-chosen-id' } });
  t.equal(seen.headers['x-request-id'], 'client-chosen-id');
});

t.test('x-envoy-expected-rq-timeout-ms carries the route timeout (15 s by default)', async (t) => {
  t.equal((await fetchJson<Echo>(legate.url('/a'))).headers['x-envoy-expected-rq-timeout-ms'], '15000');
  t.equal((await fetchJson<Echo>(legate.url('/timed'))).headers['x-envoy-expected-rq-timeout-ms'], '3000');
});

t.test('hop-by-hop request headers are not forwarded', async (t) => {
  const reply = await nodeRequest(legate.url('/hop'), {
    headers: {
      connection: 'keep-alive, x-client-hop',
      'x-client-hop': 'must-not-pass',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'keep-alive',
      te: 'gzip',
      upgrade: 'example/1',
      'x-end-to-end': 'passes',
    },
  });
  t.equal(reply.status, 200);
  const seen = (JSON.parse(reply.body) as Echo).headers;
  t.equal(seen['x-end-to-end'], 'passes');
  t.equal(seen['x-client-hop'], undefined, 'a header named by Connection');
  t.equal(seen['keep-alive'], undefined, 'keep-alive');
  t.equal(seen['proxy-connection'], undefined, 'proxy-connection');
  t.equal(seen.te, undefined, 'te other than trailers');
  t.equal(seen.upgrade, undefined, 'upgrade');
  t.not(seen.connection, 'keep-alive, x-client-hop', "the client's Connection header");
});

t.test('te: trailers is the one TE value forwarded', async (t) => {
  const reply = await nodeRequest(legate.url('/te'), { headers: { te: 'trailers' } });
  t.equal((JSON.parse(reply.body) as Echo).headers.te, 'trailers');
});

t.test('hop-by-hop response headers are not forwarded', async (t) => {
  const reply = await nodeRequest(legate.url('/hoppy'));
  t.equal(reply.status, 200);
  t.equal(reply.body, 'ok');
  t.equal(reply.headers['x-kept'], 'yes');
  t.same(reply.headers['set-cookie'], ['a=1', 'b=2'], 'repeated headers keep every value');
  t.equal(reply.headers['x-upstream-hop'], undefined, 'a header named by Connection');
  t.equal(reply.headers['proxy-connection'], undefined, 'proxy-connection');
  t.not(reply.headers['keep-alive'], 'timeout=7', "the upstream's keep-alive");
  t.not(reply.headers.connection, 'x-upstream-hop', "the upstream's Connection header");
});

t.test('response headers up to 60 KiB pass through', async (t) => {
  const dispatcher = new Agent({ maxHeaderSize: 64 * 1024 });
  t.teardown(() => dispatcher.close());
  const reply = await fetchText(legate.url('/big-headers'), { dispatcher });
  t.equal(reply.status, 200);
  t.equal(reply.headers['x-big'], BIG_VALUE);
  t.equal(reply.body, 'big');
});

t.test('keep-alive: many requests on one downstream connection', async (t) => {
  const client = new Client(`http://127.0.0.1:${legate.port()}`, { pipelining: 1 });
  t.teardown(() => client.close());
  let connections = 0;
  client.on('connect', () => connections++);
  for (let i = 0; i < 20; i++) {
    const res = await client.request({ path: `/k${i}`, method: 'GET' });
    const seen = (await res.body.json()) as Echo;
    t.equal(seen.url, `/k${i}`);
  }
  t.equal(connections, 1, 'one downstream connection served every request');
});
