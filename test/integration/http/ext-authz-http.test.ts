// envoy.filters.http.ext_authz with the HTTP service (http_service) against a real HTTP
// authorization server: the check is the client's request (method, path_prefix + path, authority,
// the allowed headers, headers_to_add, the body) sent through the authz cluster; 200 allows with
// the allowed upstream headers set, x-envoy-auth-headers-to-remove honoured and the success
// headers for the client; another status denies with the service's status, body and allowed
// client headers; a 5xx, a refused connection or a slow answer is an error (status_on_error).
// A body past max_request_bytes is refused with 413 when partial messages are not allowed. And
// Istio's CUSTOM action: ext_authz enabled by the rbac filter's shadow verdict (dynamic metadata);
// filter_enabled and deny_at_disable driven by the layered runtime.
import http from 'node:http';
import t from 'tap';
import { bootstrap, httpListener, ROUTER_TYPE, staticCluster } from '../../support/bootstrap.ts';
import { nodeRequest, statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { closedPort, echoHandler, startUpstream, type Echo, type SeenRequest } from '../../support/upstream.ts';

const EXT_AUTHZ_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';

interface AuthzSeen extends SeenRequest {
  body: string;
}

// Decides by the path the service receives (after path_prefix).
function authzHandler(seen: AuthzSeen[]): http.RequestListener {
  return (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const path = req.url ?? '';
      if (path.startsWith('/authz/allow')) {
        res.writeHead(200, { 'x-user': 'bob', 'x-other': 'kept-from-upstream', 'x-envoy-auth-headers-to-remove': 'x-drop, x-drop-too', 'x-client-note': 'ok' });
        res.end();
      } else if (path.startsWith('/authz/error')) {
        res.writeHead(503);
        res.end('broken');
      } else if (path.startsWith('/authz/slow')) {
        // never answered: the server closes at teardown
      } else {
        res.writeHead(403, { 'content-type': 'text/html', 'x-reason': 'policy', 'x-secret': 'not for clients' });
        res.end('<p>nope</p>');
      }
    });
  };
}

t.test('ext_authz with the HTTP service: allow, deny, errors, headers both ways and the body', async (t) => {
  const seen: AuthzSeen[] = [];
  const authz = http.createServer(authzHandler(seen));
  await new Promise<void>((resolve) => authz.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    authz.closeAllConnections();
    authz.close();
  });
  const authzPort = (authz.address() as { port: number }).port;
  const upstream = await startUpstream('app', echoHandler('app'));
  t.teardown(() => upstream.close());
  const refused = await closedPort();

  const httpService = (cluster: string) => ({
    server_uri: { uri: `http://127.0.0.1:${authzPort}`, cluster, timeout: '0.3s' },
    path_prefix: '/authz',
    authorization_request: { headers_to_add: [{ key: 'x-auth-from', value: 'legate' }] },
    authorization_response: {
      allowed_upstream_headers: { patterns: [{ exact: 'x-user' }] },
      allowed_client_headers: { patterns: [{ exact: 'x-reason' }, { prefix: 'content-' }] },
      allowed_client_headers_on_success: { patterns: [{ exact: 'x-client-note' }] },
    },
  });
  const filters = (cluster: string) => [
    {
      name: 'envoy.filters.http.ext_authz',
      typed_config: {
        '@type': EXT_AUTHZ_TYPE,
        http_service: httpService(cluster),
        allowed_headers: { patterns: [{ exact: 'x-token' }] },
        with_request_body: { max_request_bytes: 16 },
      },
    },
    { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
  ];
  const routeConfig = { name: 'web', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }] };
  const legate = await startLegate(bootstrap(
    [httpListener('web', routeConfig, { http_filters: filters('authz') }), httpListener('down', routeConfig, { http_filters: filters('nowhere') })],
    [staticCluster('app', [{ port: upstream.port }]), staticCluster('authz', [{ port: authzPort }]), staticCluster('nowhere', [{ port: refused }])],
  ));
  t.teardown(() => legate.stop());
  const get = (path: string, headers: Record<string, string> = {}, listener = 'web') => nodeRequest(legate.url(path, listener), { headers });

  const allowed = await get('/allow/me?q=1', { 'x-token': 't1', authorization: 'Bearer abc', 'x-secret': 's', 'x-drop': '1', 'x-drop-too': '2', 'x-keep': '3' });
  t.equal(allowed.status, 200);
  const echo = JSON.parse(allowed.body) as Echo;
  t.equal(echo.headers['x-user'], 'bob', 'allowed_upstream_headers go upstream');
  t.equal(echo.headers['x-other'], undefined, 'other headers of the answer do not');
  t.equal(echo.headers['x-drop'], undefined, 'x-envoy-auth-headers-to-remove');
  t.equal(echo.headers['x-drop-too'], undefined);
  t.equal(echo.headers['x-keep'], '3');
  t.equal(allowed.headers['x-client-note'], 'ok', 'allowed_client_headers_on_success reach the client');
  t.equal(allowed.headers['x-user'], undefined);

  const check = seen[0];
  t.equal(check.method, 'GET', 'the check has the request\'s method');
  t.equal(check.url, '/authz/allow/me?q=1', 'path_prefix + the request\'s path');
  t.equal(check.headers.host, `127.0.0.1:${legate.port('web')}`, 'and its authority');
  t.equal(check.headers['x-token'], 't1', 'allowed_headers');
  t.equal(check.headers.authorization, 'Bearer abc', 'authorization always goes');
  t.equal(check.headers['x-secret'], undefined, 'headers not allowed stay behind');
  t.equal(check.headers['x-auth-from'], 'legate', 'headers_to_add');
  t.equal(check.headers['content-length'], '0');

  const denied = await get('/deny');
  t.equal(denied.status, 403);
  t.equal(denied.body, '<p>nope</p>', 'the service\'s body');
  t.equal(denied.headers['x-reason'], 'policy', 'allowed_client_headers');
  t.equal(denied.headers['content-type'], 'text/html');
  t.equal(denied.headers['x-secret'], undefined, 'headers not allowed to the client stay behind');

  t.equal((await get('/error')).status, 403, 'a 5xx from the service is an error: status_on_error');
  t.equal((await get('/slow')).status, 403, 'so is no answer within server_uri.timeout');
  t.equal((await get('/allow', {}, 'down')).status, 403, 'and a service that cannot be reached');

  // The body goes with the check; more than max_request_bytes without allow_partial_message is refused.
  const before = seen.length;
  const posted = await nodeRequest(legate.url('/allow/post'), { method: 'POST', body: 'small body', headers: { 'content-type': 'text/plain' } });
  t.equal(posted.status, 200);
  t.equal((JSON.parse(posted.body) as Echo).body, 'small body', 'the upstream gets the body too');
  t.equal(seen[before].body, 'small body', 'the service gets the body');
  t.equal(seen[before].method, 'POST');
  t.equal(seen[before].headers['content-length'], '10');
  const exact = await nodeRequest(legate.url('/allow/post'), { method: 'POST', body: 'y'.repeat(16) });
  t.equal(exact.status, 200, 'a body of exactly max_request_bytes goes with the check');
  t.equal(seen[before + 1].body, 'y'.repeat(16));
  const big = await nodeRequest(legate.url('/allow/post'), { method: 'POST', body: 'x'.repeat(64) });
  t.equal(big.status, 413, 'a body past max_request_bytes');
  t.equal(seen.length, before + 2, 'is never sent to the service');

  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('http.web.ext_authz.ok'), 3);
  t.equal(stats.get('http.web.ext_authz.denied'), 1);
  t.equal(stats.get('http.web.ext_authz.error'), 2);
  t.equal(stats.get('http.down.ext_authz.error'), 1);
  t.equal(stats.get('cluster.app.upstream_rq_403'), 1, 'a denial counts as the route cluster\'s response (charge_cluster_response_stats)');
});

// Istio's CUSTOM action: an rbac filter's shadow rules name the paths to check, and ext_authz runs
// only where the shadow verdict's policy id (dynamic metadata) says so.
t.test('ext_authz enabled by the rbac filter\'s shadow policy id (Istio\'s CUSTOM action)', async (t) => {
  const seen: AuthzSeen[] = [];
  const authz = http.createServer(authzHandler(seen));
  await new Promise<void>((resolve) => authz.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    authz.closeAllConnections();
    authz.close();
  });
  const upstream = await startUpstream('app', echoHandler('app'));
  t.teardown(() => upstream.close());
  const rbac = {
    name: 'envoy.filters.http.rbac',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
      shadow_rules: {
        action: 'ALLOW',
        policies: { 'istio-ext-authz-ns[default]-policy[ext]-rule[0]': { permissions: [{ url_path: { path: { prefix: '/deny' } } }, { url_path: { path: { prefix: '/allow' } } }], principals: [{ any: true }] } },
      },
      shadow_rules_stat_prefix: 'istio_ext_authz_',
    },
  };
  const extAuthz = {
    name: 'envoy.filters.http.ext_authz',
    typed_config: {
      '@type': EXT_AUTHZ_TYPE,
      http_service: { server_uri: { uri: 'http://authz', cluster: 'authz', timeout: '1s' }, path_prefix: '/authz' },
      filter_enabled_metadata: {
        filter: 'envoy.filters.http.rbac',
        path: [{ key: 'istio_ext_authz_shadow_effective_policy_id' }],
        value: { string_match: { prefix: 'istio-ext-authz' } },
      },
    },
  };
  const routeConfig = { name: 'web', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }] };
  const legate = await startLegate(bootstrap(
    [httpListener('istio', routeConfig, { http_filters: [rbac, extAuthz, { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }] })],
    [staticCluster('app', [{ port: upstream.port }]), staticCluster('authz', [{ port: (authz.address() as { port: number }).port }])],
  ));
  t.teardown(() => legate.stop());

  t.equal((await nodeRequest(legate.url('/deny/x'))).status, 403, 'a path the shadow policy names is checked (and denied)');
  t.equal((await nodeRequest(legate.url('/allow/x'))).status, 200);
  t.equal((await nodeRequest(legate.url('/other'))).status, 200, 'another path is not checked (the service would deny it)');
  t.same(seen.map((s) => s.url), ['/authz/deny/x', '/authz/allow/x']);
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('http.istio.ext_authz.disabled'), 1);
  t.equal(stats.get('http.istio.ext_authz.denied'), 1);
  t.equal(stats.get('http.istio.rbac.istio_ext_authz_shadow_allowed'), 2);
  t.equal(stats.get('http.istio.rbac.istio_ext_authz_shadow_denied'), 1);
});

// filter_enabled's and deny_at_disable's runtime keys: the layered runtime decides per request.
t.test('ext_authz filter_enabled and deny_at_disable from the runtime', async (t) => {
  const seen: AuthzSeen[] = [];
  const authz = http.createServer(authzHandler(seen));
  await new Promise<void>((resolve) => authz.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    authz.closeAllConnections();
    authz.close();
  });
  const upstream = await startUpstream('app', echoHandler('app'));
  t.teardown(() => upstream.close());
  const extAuthz = {
    name: 'envoy.filters.http.ext_authz',
    typed_config: {
      '@type': EXT_AUTHZ_TYPE,
      http_service: { server_uri: { uri: 'http://authz', cluster: 'authz', timeout: '1s' }, path_prefix: '/authz' },
      filter_enabled: { default_value: { numerator: 100 }, runtime_key: 'authz.enabled' },
      deny_at_disable: { default_value: false, runtime_key: 'authz.deny' },
    },
  };
  const routeConfig = { name: 'web', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }] };
  const legate = await startLegate(bootstrap(
    [httpListener('rt', routeConfig, { http_filters: [extAuthz, { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }] })],
    [staticCluster('app', [{ port: upstream.port }]), staticCluster('authz', [{ port: (authz.address() as { port: number }).port }])],
    { layered_runtime: { layers: [{ name: 'static', static_layer: { authz: { enabled: 0, deny: true } } }, { name: 'admin', admin_layer: {} }] } },
  ));
  t.teardown(() => legate.stop());
  const modify = (query: string) => nodeRequest(legate.adminUrl(`/runtime_modify?${query}`), { method: 'POST' });

  t.equal((await nodeRequest(legate.url('/allow/x'))).status, 403, 'disabled by the runtime, and deny_at_disable set there: status_on_error');
  t.equal((await modify('authz.deny=false')).status, 200);
  t.equal((await nodeRequest(legate.url('/other'))).status, 200, 'disabled and not denied: the request goes on unchecked');
  t.equal(seen.length, 0);
  await modify('authz.enabled=100');
  t.equal((await nodeRequest(legate.url('/other'))).status, 403, 'enabled again: checked (and denied by the service)');
  t.equal(seen.length, 1);
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('http.rt.ext_authz.disabled'), 2);
  t.equal(stats.get('http.rt.ext_authz.denied'), 1);
});
