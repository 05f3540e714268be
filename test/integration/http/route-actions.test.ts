// Route actions end to end: path and host rewrites as the upstream sees them, direct responses,
// redirects, and header mutations at the route config, virtual host and route levels.
import t from 'tap';
import { bootstrap, httpListener, staticCluster } from '../../support/bootstrap.ts';
import { fetchJson, fetchText } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { echoHandler, startUpstream, type Echo } from '../../support/upstream.ts';

const echo = await startUpstream('echo', echoHandler('echo'));
t.teardown(() => echo.close());
// Answers with a header the config removes on the way back.
const leaky = await startUpstream('leaky', (req, res) => {
  req.resume();
  req.once('end', () => {
    res.setHeader('x-internal-secret', 'do-not-leak');
    res.setHeader('x-who', 'upstream');
    res.end('leaky');
  });
});
t.teardown(() => leaky.close());

const add = (key: string, value: string, appendAction?: string) => ({ header: { key, value }, ...(appendAction ? { append_action: appendAction } : {}) });
const OVERWRITE = 'OVERWRITE_IF_EXISTS_OR_ADD';

const routeConfig = {
  name: 'actions',
  request_headers_to_add: [add('x-level-config', 'config'), add('x-precedence', 'config', OVERWRITE)],
  request_headers_to_remove: ['x-strip-config'],
  response_headers_to_add: [add('x-resp-config', 'config')],
  virtual_hosts: [
    {
      name: 'main',
      domains: ['*'],
      request_headers_to_add: [add('x-level-vhost', 'vhost'), add('x-precedence', 'vhost', OVERWRITE)],
      response_headers_to_add: [add('x-resp-vhost', 'vhost')],
      routes: [
        { match: { prefix: '/old/' }, route: { cluster: 'echo', prefix_rewrite: '/new/' } },
        { match: { prefix: '/api' }, route: { cluster: 'echo', regex_rewrite: { pattern: { regex: '^/api/v([0-9]+)/(.*)$' }, substitution: '/\\2?version=\\1' } } },
        { match: { prefix: '/literal' }, route: { cluster: 'echo', host_rewrite_literal: 'rewritten.internal' } },
        { match: { prefix: '/auto-unnamed' }, route: { cluster: 'echo', auto_host_rewrite: true } },
        { match: { prefix: '/auto' }, route: { cluster: 'named-host', auto_host_rewrite: true } },
        { match: { prefix: '/maintenance' }, direct_response: { status: 503, body: { inline_string: 'down for maintenance' } } },
        { match: { prefix: '/empty' }, direct_response: { status: 204 } },
        { match: { prefix: '/secure' }, redirect: { https_redirect: true } },
        { match: { prefix: '/moved' }, redirect: { path_redirect: '/new-home', response_code: 'FOUND' } },
        { match: { prefix: '/elsewhere' }, redirect: { host_redirect: 'other.example', response_code: 'TEMPORARY_REDIRECT' } },
        {
          match: { prefix: '/leaky' },
          route: { cluster: 'leaky' },
          response_headers_to_remove: ['x-internal-secret'],
          response_headers_to_add: [add('x-who', 'route', OVERWRITE), add('x-served-by', '%UPSTREAM_HOST%')],
        },
        {
          match: { prefix: '/' },
          route: { cluster: 'echo' },
          request_headers_to_add: [add('x-level-route', 'route'), add('x-precedence', 'route', OVERWRITE), add('x-client', '%REQ(x-tenant)%')],
          request_headers_to_remove: ['x-strip-route'],
          response_headers_to_add: [add('x-resp-route', 'route')],
        },
      ],
    },
  ],
};

const legate = await startLegate(
  bootstrap(
    [httpListener('ingress', routeConfig)],
    [
      staticCluster('echo', [{ port: echo.port }]),
      {
        ...staticCluster('named-host', []),
        load_assignment: {
          cluster_name: 'named-host',
          endpoints: [{ lb_endpoints: [{ endpoint: { hostname: 'named.internal', address: { socket_address: { address: '127.0.0.1', port_value: echo.port } } } }] }],
        },
      },
      staticCluster('leaky', [{ port: leaky.port }]),
    ],
  ),
);
t.teardown(() => legate.stop());

const upstreamSaw = (path: string, headers: Record<string, string> = {}) => fetchJson<Echo>(legate.url(path), { headers });

t.test('prefix_rewrite replaces the matched prefix and keeps the query', async (t) => {
  const seen = await upstreamSaw('/old/thing?x=1');
  t.equal(seen.url, '/new/thing?x=1');
  t.equal(seen.headers['x-envoy-original-path'], '/old/thing?x=1', 'the original path travels in x-envoy-original-path');
});

t.test('regex_rewrite substitutes capture groups', async (t) => {
  t.equal((await upstreamSaw('/api/v2/users')).url, '/users?version=2');
});

t.test('host_rewrite_literal', async (t) => {
  t.equal((await upstreamSaw('/literal', { host: 'public.example' })).headers.host, 'rewritten.internal');
});

t.test("auto_host_rewrite uses the chosen host's hostname", async (t) => {
  t.equal((await upstreamSaw('/auto', { host: 'public.example' })).headers.host, 'named.internal');
  t.equal((await upstreamSaw('/auto-unnamed', { host: 'public.example' })).headers.host, 'public.example', 'a host without a hostname leaves Host alone (Envoy)');
});

t.test('direct_response', async (t) => {
  const reply = await fetchText(legate.url('/maintenance'));
  t.equal(reply.status, 503);
  t.equal(reply.body, 'down for maintenance');
  t.equal(reply.headers['content-type'], 'text/plain');
  t.equal(reply.headers['x-resp-config'], 'config', 'route config response headers apply to direct responses');
  const empty = await fetchText(legate.url('/empty'));
  t.equal(empty.status, 204);
  t.equal(empty.body, '');
  t.equal(echo.seen.some((s) => s.url === '/maintenance' || s.url === '/empty'), false, 'the upstream was not asked');
});

t.test('redirects', async (t) => {
  const secure = await fetchText(legate.url('/secure/page?a=1'), { headers: { host: 'shop.example' } });
  t.equal(secure.status, 301, 'https_redirect: 301 by default');
  t.equal(secure.headers.location, 'https://shop.example/secure/page?a=1');
  const moved = await fetchText(legate.url('/moved?a=1'), { headers: { host: 'shop.example' } });
  t.equal(moved.status, 302, 'response_code FOUND');
  t.equal(moved.headers.location, 'http://shop.example/new-home?a=1', 'path_redirect keeps the query');
  const elsewhere = await fetchText(legate.url('/elsewhere/x'), { headers: { host: 'shop.example' } });
  t.equal(elsewhere.status, 307);
  t.equal(elsewhere.headers.location, 'http://other.example/elsewhere/x');
});

t.test('request headers added and removed at every level', async (t) => {
  const seen = await upstreamSaw('/plain', { 'x-strip-config': '1', 'x-strip-route': '1', 'x-keep': '1', 'x-tenant': 'blue' });
  t.equal(seen.headers['x-level-config'], 'config');
  t.equal(seen.headers['x-level-vhost'], 'vhost');
  t.equal(seen.headers['x-level-route'], 'route');
  t.equal(seen.headers['x-precedence'], 'config', 'on overwrite the route config wins (most_specific_header_mutations_wins: false)');
  t.equal(seen.headers['x-client'], 'blue', 'values are formatted: %REQ(x-tenant)%');
  t.equal(seen.headers['x-strip-config'], undefined, 'removed at the route config');
  t.equal(seen.headers['x-strip-route'], undefined, 'removed at the route');
  t.equal(seen.headers['x-keep'], '1');
});

t.test('an added header is appended to a value the client sent', async (t) => {
  const seen = await upstreamSaw('/plain', { 'x-level-route': 'client' });
  t.equal(seen.headers['x-level-route'], 'client, route', 'APPEND_IF_EXISTS_OR_ADD is the default');
});

t.test('response headers added and removed at every level', async (t) => {
  const plain = await fetchText(legate.url('/plain'));
  t.equal(plain.headers['x-resp-config'], 'config');
  t.equal(plain.headers['x-resp-vhost'], 'vhost');
  t.equal(plain.headers['x-resp-route'], 'route');
  const leaked = await fetchText(legate.url('/leaky'));
  t.equal(leaked.body, 'leaky');
  t.equal(leaked.headers['x-internal-secret'], undefined, 'response_headers_to_remove');
  t.equal(leaked.headers['x-who'], 'route', "overwrites the upstream's value");
  t.equal(leaked.headers['x-served-by'], leaky.address, '%UPSTREAM_HOST%');
});
