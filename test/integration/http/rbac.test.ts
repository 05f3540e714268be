// envoy.filters.http.rbac through a real Legate and an HTTP/1 upstream: a DENY policy of Istio's
// shape by path and by method refusing with 403 "RBAC: access denied" and the matched policy in
// %RESPONSE_CODE_DETAILS% (no response flag, as Envoy); a route's RBACPerRoute allowing by the
// XFF-derived remote IP, an empty one opening a route, a virtual host's and a FilterConfig that
// disables the filter; a shadow rule counted without refusing; and over mutual TLS an ALLOW policy
// by SPIFFE principal (URI SAN) letting one client through and refusing another. Counters under
// http.<stat_prefix>.rbac. The same policies hold over HTTP/2.
import http2 from 'node:http2';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import t from 'tap';
import { bootstrap, fileAccessLog, httpListener, ROUTER_TYPE, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { nodeRequest, statsMap, waitForLogLine } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { startUpstream } from '../../support/upstream.ts';
import { certFiles, downstreamTls, hcmToBackend, httpsGet } from '../tls/support.ts';

const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute';
const FILTER_CONFIG_TYPE = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';
const DENY_POLICY = 'ns[default]-policy[deny-path]-rule[0]';
const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';

const router = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } };
const rbac = (config: object) => ({ name: 'envoy.filters.http.rbac', typed_config: { '@type': RBAC_TYPE, ...config } });
const perRoute = (rbacConfig?: object) => ({ 'envoy.filters.http.rbac': { '@type': PER_ROUTE_TYPE, ...(rbacConfig === undefined ? {} : { rbac: rbacConfig }) } });
const any = [{ any: true }];

t.test('HTTP RBAC: DENY by path and method, per-route ALLOW by remote IP, shadow rules', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'legate-rbac-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logPath = join(dir, 'access.log');
  const upstream = await startUpstream('app');
  t.teardown(() => upstream.close());

  const routeConfig = {
    name: 'web',
    virtual_hosts: [{
      // A virtual host's RBACPerRoute applies to its routes; a route's FilterConfig disables the filter.
      name: 'keyed',
      domains: ['keyed.example'],
      typed_per_filter_config: perRoute({ rules: { action: 'ALLOW', policies: { key: { permissions: [{ header: { name: 'x-key', string_match: { exact: 'secret' } } }], principals: any } } } }),
      routes: [
        { match: { prefix: '/public' }, route: { cluster: 'app' }, typed_per_filter_config: { 'envoy.filters.http.rbac': { '@type': FILTER_CONFIG_TYPE, disabled: true } } },
        { match: { prefix: '/' }, route: { cluster: 'app' } },
      ],
    }, {
      name: 'all',
      domains: ['*'],
      routes: [
        // The route's own rules replace the filter's: only clients XFF names in 10.1.0.0/16.
        {
          match: { prefix: '/internal' },
          route: { cluster: 'app' },
          typed_per_filter_config: perRoute({ rules: { action: 'ALLOW', policies: { 'internal-net': { permissions: any, principals: [{ remote_ip: { address_prefix: '10.1.0.0', prefix_len: 16 } }] } } } }),
        },
        // An RBACPerRoute without rbac: no rules, everything allowed, the /admin prefix included.
        { match: { prefix: '/admin/open' }, route: { cluster: 'app' }, typed_per_filter_config: perRoute() },
        { match: { prefix: '/' }, route: { cluster: 'app' } },
      ],
    }],
  };
  const filter = rbac({
    rules: {
      action: 'DENY',
      policies: {
        [DENY_POLICY]: {
          permissions: [{ or_rules: { rules: [{ url_path: { path: { prefix: '/admin' } } }, { header: { name: ':method', string_match: { exact: 'DELETE' } } }] } }],
          principals: any,
        },
      },
    },
    shadow_rules: { action: 'DENY', policies: { 'dry-run': { permissions: [{ header: { name: 'x-shadow', present_match: true } }], principals: any } } },
    shadow_rules_stat_prefix: 'istio_dry_run_allow_',
  });
  const legate = await startLegate(bootstrap(
    [httpListener('web', routeConfig, {
      http_filters: [filter, router],
      access_log: [fileAccessLog(logPath, '%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n')],
    })],
    [staticCluster('app', [{ port: upstream.port }])],
  ));
  t.teardown(() => legate.stop());
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => nodeRequest(legate.url(path), { method, headers });

  const ok = await get('/hello');
  t.equal(ok.status, 200, 'a request no DENY policy matches goes through');

  const admin = await get('/admin/users');
  t.equal(admin.status, 403);
  t.equal(admin.body, 'RBAC: access denied');
  t.equal(await waitForLogLine(logPath, '/admin/users'), `/admin/users 403 - rbac_access_denied_matched_policy[${DENY_POLICY}]`);
  t.equal((await get('/admin?tab=1')).status, 403, 'url_path ignores the query');
  t.equal((await get('/hello', {}, 'DELETE')).status, 403, 'DENY by :method');
  t.equal((await get('/administrator')).status, 403, 'a prefix match');
  t.notOk(upstream.seen.some((r) => r.url.startsWith('/admin') || r.method === 'DELETE'), 'no denied request reached the upstream');

  const shadowed = await get('/hello', { 'x-shadow': '1' });
  t.equal(shadowed.status, 200, 'a shadow DENY refuses nothing');

  t.equal((await get('/internal/x', { 'x-forwarded-for': '10.1.2.3' })).status, 200, 'per-route ALLOW by the XFF-derived remote address');
  const outside = await get('/internal/x', { 'x-forwarded-for': '192.0.2.9' });
  t.equal(outside.status, 403);
  t.equal(await waitForLogLine(logPath, '/internal/x'), '/internal/x 200 - via_upstream');
  t.equal((await get('/internal/x')).status, 403, 'no XFF: the peer 127.0.0.1 is not in 10.1.0.0/16');
  t.equal((await get('/admin/open')).status, 200, 'an empty RBACPerRoute allows everything');
  t.equal((await get('/admin', { host: 'keyed.example', 'x-key': 'secret' })).status, 200, 'the virtual host\'s rules replace the filter\'s');
  t.equal((await get('/x', { host: 'keyed.example' })).status, 403);
  t.equal((await get('/public', { host: 'keyed.example' })).status, 200, 'a route\'s FilterConfig disabled: no check');

  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('http.web.rbac.allowed'), 4, '/hello twice, /internal, keyed /admin: a route\'s rules count under the filter');
  t.equal(stats.get('http.web.rbac.denied'), 7);
  t.equal(stats.get('http.web.rbac.istio_dry_run_allow_shadow_denied'), 1);
  t.equal(stats.get('http.web.rbac.istio_dry_run_allow_shadow_allowed'), 5, 'shadow rules run where the filter\'s own rules apply');

  // The same policies over HTTP/2 (h2c prior knowledge on the AUTO codec): pseudo-headers and all.
  const session = http2.connect(legate.url('/'));
  session.on('error', () => undefined);
  t.teardown(() => session.destroy());
  const h2 = (path: string, method = 'GET') => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = session.request({ ':method': method, ':path': path }, { endStream: true });
    let status = 0;
    let body = '';
    req.setEncoding('utf8');
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: string) => (body += c));
    req.on('end', () => resolve({ status, body }));
    req.on('error', reject);
  });
  t.same(await h2('/admin/users'), { status: 403, body: 'RBAC: access denied' }, 'HTTP/2: DENY by path');
  t.equal((await h2('/hello', 'DELETE')).status, 403, 'HTTP/2: DENY by :method');
  t.equal((await h2('/hello')).status, 200);
});

t.test('HTTP RBAC over mutual TLS: ALLOW by SPIFFE principal', { skip: opensslMissing() }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const server = ca.issue('proxy.test', ['DNS:proxy.test']);
  const sleep = ca.issue('sleep', [`URI:${SLEEP}`]);
  const other = ca.issue('other', ['URI:spiffe://cluster.local/ns/default/sa/other', 'DNS:other.default.svc']);
  const upstream = await startUpstream('backend');
  t.teardown(() => upstream.close());
  const allowSleep = rbac({
    rules: {
      action: 'ALLOW',
      policies: { 'ns[default]-policy[allow-sleep]-rule[0]': { permissions: any, principals: [{ authenticated: { principal_name: { exact: SLEEP } } }] } },
    },
  });
  const legate = await startLegate(bootstrap(
    [{
      name: 'mtls',
      address: socketAddress('127.0.0.1', 0),
      filter_chains: [{
        transport_socket: downstreamTls(
          { tls_certificates: [certFiles(server)], validation_context: { trusted_ca: { filename: ca.certFile } } },
          { require_client_certificate: true },
        ),
        filters: [hcmToBackend('mtls', { http_filters: [allowSleep, router] })],
      }],
    }],
    [staticCluster('backend', [{ port: upstream.port }])],
  ));
  t.teardown(() => legate.stop());
  const as = (leaf: typeof sleep) => httpsGet(legate.port('mtls'), '/data', { ca: ca.cert, cert: leaf.cert, key: leaf.key, servername: 'proxy.test' });

  const allowed = await as(sleep);
  t.equal(allowed.status, 200, 'the sleep service account is allowed');
  const refused = await as(other);
  t.equal(refused.status, 403, 'another service account is refused');
  t.equal(refused.body, 'RBAC: access denied');
  t.equal(upstream.seen.length, 1, 'only the allowed request reached the upstream');
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('http.mtls.rbac.allowed'), 1);
  t.equal(stats.get('http.mtls.rbac.denied'), 1);
});
