// envoy.filters.http.ext_authz against a real gRPC authorization server written here on
// @grpc/grpc-js with Envoy's own envoy/service/auth/v3/external_auth.proto: it allows (a header
// for the upstream, one removed, a query parameter, a header for the client), denies (status,
// headers, body: flag UAEX), fails, and never answers (the 300 ms timeout) — with
// failure_mode_allow off (403) and on (the request goes on, marked). What the CheckRequest carries
// (method, path, headers, addresses, protocol, body, context extensions), a route where the
// filter is disabled, clear_route_cache routing again on a header the service set, and Envoy's
// stats under http.<prefix>.ext_authz and cluster.<c>.ext_authz. Over mutual TLS and HTTP/2: the
// principals from the certificates, the client's certificate, the SNI, the protocol and the rbac
// filter's shadow verdict as metadata_context. The network
// filter in front of tcp_proxy: a connection allowed, denied (closed unproxied), failed both ways.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import t, { type Test } from 'tap';
import { bootstrap, fileAccessLog, httpListener, ROUTER_TYPE, staticCluster } from '../../support/bootstrap.ts';
import { statsMap, waitForLogLine } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { echoHandler, startUpstream, type Echo } from '../../support/upstream.ts';
import { certFiles, downstreamTls, hcmToBackend } from '../tls/support.ts';
import { startEchoServer, tcpProxyFilter } from '../l4/support.ts';

const EXT_AUTHZ_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
const PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute';

// Envoy's protos as grpc-js-xds ships them, and the include paths their imports need.
const require = createRequire(import.meta.url);
const deps = join(resolve(dirname(require.resolve('@grpc/grpc-js-xds')), '..', '..'), 'deps');
const definition = protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d)).concat(dirname(require.resolve('protobufjs'))),
});
const Authorization = definition['envoy.service.auth.v3.Authorization'] as grpc.ServiceDefinition;

interface Peer {
  address?: { socket_address?: { address?: string; port_value?: number } };
  principal?: string;
  certificate?: string;
}
interface CheckRequest {
  attributes: {
    source: Peer;
    destination: Peer;
    request?: { http: { method: string; path: string; host: string; scheme: string; protocol: string; headers: Record<string, string>; body?: string; size?: string } };
    context_extensions?: Record<string, string>;
    metadata_context?: { filter_metadata?: Record<string, { fields?: Record<string, { stringValue?: string }> }> };
    tls_session?: { sni?: string };
  };
}

interface AuthzServer {
  port: number;
  checks: CheckRequest[];
  /** A connection's check (no request) is answered by its destination port's verdict (default allow). */
  tcpVerdicts: Map<number, 'allow' | 'deny' | 'fail'>;
  /** Each call's metadata and :authority, in order. */
  calls: { metadata: Record<string, string>; authority: string; deadlineMs: number }[];
}

// Decides by the request path: /allow…, /deny…, /fail…, /slow… (never answered); anything else is allowed plainly.
async function startAuthzServer(t: Test): Promise<AuthzServer> {
  const server = new grpc.Server();
  const result: AuthzServer = { port: 0, checks: [], calls: [], tcpVerdicts: new Map() };
  const held: grpc.sendUnaryData<unknown>[] = [];
  server.addService(Authorization, {
    Check: (call: grpc.ServerUnaryCall<CheckRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      result.checks.push(call.request);
      const deadline = call.getDeadline();
      result.calls.push({
        metadata: Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)])),
        authority: call.getHost(),
        deadlineMs: (deadline instanceof Date ? deadline.getTime() : Number(deadline)) - Date.now(),
      });
      if (call.request.attributes.request === undefined) {
        const verdict = result.tcpVerdicts.get(call.request.attributes.destination.address?.socket_address?.port_value ?? 0) ?? 'allow';
        if (verdict === 'fail') cb({ code: grpc.status.INTERNAL, details: 'no' });
        else cb(null, { status: { code: verdict === 'allow' ? 0 : grpc.status.PERMISSION_DENIED } });
        return;
      }
      const path = call.request.attributes.request.http.path;
      if (path.startsWith('/allow')) {
        cb(null, {
          status: { code: 0 },
          ok_response: {
            headers: [{ header: { key: 'x-authz-user', value: 'alice' } }, { header: { key: 'x-tag', value: 'b' }, append: { value: true } }],
            headers_to_remove: ['x-remove-me'],
            response_headers_to_add: [{ header: { key: 'x-authz-note', value: 'checked' } }],
            query_parameters_to_set: [{ key: 'added', value: '1' }],
          },
        });
      } else if (path.startsWith('/reroute')) {
        cb(null, { status: { code: 0 }, ok_response: { headers: [{ header: { key: 'x-route-to', value: 'b' } }] } });
      } else if (path.startsWith('/deny')) {
        cb(null, {
          status: { code: grpc.status.PERMISSION_DENIED },
          denied_response: { status: { code: 'Unauthorized' }, headers: [{ header: { key: 'www-authenticate', value: 'Bearer realm="test"' } }], body: 'go away' },
        });
      } else if (path.startsWith('/fail')) {
        cb({ code: grpc.status.UNAVAILABLE, details: 'backend down' });
      } else if (path.startsWith('/slow')) {
        held.push(cb); // answered only at teardown, long after the timeout
      } else {
        cb(null, { status: { code: 0 } });
      }
    },
  });
  result.port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? rej(err) : res(port))));
  t.teardown(() => {
    for (const cb of held) cb({ code: grpc.status.CANCELLED });
    server.forceShutdown();
  });
  return result;
}

type Reply = { status: number; headers: http.IncomingHttpHeaders; body: string; localPort: number };

function request(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((res, rej) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (c: string) => (body += c));
      response.on('end', () => res({ status: response.statusCode ?? 0, headers: response.headers, body, localPort }));
    });
    let localPort = 0;
    req.on('socket', (s) => s.on('connect', () => (localPort = s.localPort ?? 0)));
    req.on('error', rej);
    req.end(options.body);
  });
}

t.test('ext_authz over gRPC: allow, deny, error and timeout, failure_mode_allow both ways', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'legate-ext-authz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logPath = join(dir, 'access.log');
  const authz = await startAuthzServer(t);
  const upstream = await startUpstream('app', echoHandler('app'));
  t.teardown(() => upstream.close());
  const upstream2 = await startUpstream('app2', echoHandler('app2'));
  t.teardown(() => upstream2.close());

  const routeConfig = {
    name: 'web',
    virtual_hosts: [{
      name: 'all',
      domains: ['*'],
      typed_per_filter_config: { 'envoy.filters.http.ext_authz': { '@type': PER_ROUTE_TYPE, check_settings: { context_extensions: { tenant: 'a', scope: 'vhost' } } } },
      routes: [
        { match: { prefix: '/public' }, route: { cluster: 'app' }, typed_per_filter_config: { 'envoy.filters.http.ext_authz': { '@type': PER_ROUTE_TYPE, disabled: true } } },
        { match: { prefix: '/ctx' }, route: { cluster: 'app' }, typed_per_filter_config: { 'envoy.filters.http.ext_authz': { '@type': PER_ROUTE_TYPE, check_settings: { context_extensions: { scope: 'route' } } } } },
        { match: { prefix: '/', headers: [{ name: 'x-route-to', string_match: { exact: 'b' } }] }, route: { cluster: 'app2' } },
        { match: { prefix: '/' }, route: { cluster: 'app' } },
      ],
    }],
  };
  const extAuthz = (extra: object) => ({
    name: 'envoy.filters.http.ext_authz',
    typed_config: {
      '@type': EXT_AUTHZ_TYPE,
      transport_api_version: 'V3',
      grpc_service: { envoy_grpc: { cluster_name: 'authz' }, timeout: '0.3s' },
      with_request_body: { max_request_bytes: 1024, allow_partial_message: true },
      ...extra,
    },
  });
  const router = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } };
  const log = fileAccessLog(logPath, '%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n');
  const legate = await startLegate(bootstrap(
    [
      httpListener('closed', routeConfig, { http_filters: [extAuthz({ clear_route_cache: true }), router], access_log: [log] }),
      httpListener('open', routeConfig, { http_filters: [extAuthz({ failure_mode_allow: true, failure_mode_allow_header_add: true }), router] }),
    ],
    [staticCluster('app', [{ port: upstream.port }]), staticCluster('app2', [{ port: upstream2.port }]), staticCluster('authz', [{ port: authz.port }], { http2_protocol_options: {} })],
  ));
  t.teardown(() => legate.stop());
  const closed = legate.port('closed');
  const open = legate.port('open');

  // Allowed: the service's mutations reach the upstream and the client.
  const allowed = await request(closed, '/allow?x=1', { headers: { 'x-remove-me': 'yes', 'x-tag': 'a', 'x-custom': 'v1' } });
  t.equal(allowed.status, 200);
  const echo = JSON.parse(allowed.body) as Echo;
  t.equal(echo.headers['x-authz-user'], 'alice', 'a header from the OK response goes upstream');
  t.equal(echo.headers['x-tag'], 'a,b', 'append: true joins the existing header');
  t.equal(echo.headers['x-remove-me'], undefined, 'headers_to_remove');
  t.equal(echo.url, '/allow?x=1&added=1', 'query_parameters_to_set');
  t.equal(allowed.headers['x-authz-note'], 'checked', 'response_headers_to_add reaches the client');

  // What the CheckRequest said about that request.
  const check = authz.checks[0].attributes;
  const httpAttrs = check.request!.http;
  t.equal(httpAttrs.method, 'GET');
  t.equal(httpAttrs.path, '/allow?x=1');
  t.equal(httpAttrs.host, `127.0.0.1:${closed}`);
  t.equal(httpAttrs.scheme, 'http');
  t.equal(httpAttrs.protocol, 'HTTP/1.1');
  t.equal(httpAttrs.headers[':method'], 'GET');
  t.equal(httpAttrs.headers[':path'], '/allow?x=1');
  t.equal(httpAttrs.headers[':authority'], `127.0.0.1:${closed}`);
  t.equal(httpAttrs.headers['x-custom'], 'v1');
  t.equal(check.source.address?.socket_address?.address, '127.0.0.1');
  t.equal(check.source.address?.socket_address?.port_value, allowed.localPort, 'the source is the client\'s own address and port');
  t.equal(check.destination.address?.socket_address?.port_value, closed, 'the destination is the listener');
  t.same(check.context_extensions, { tenant: 'a', scope: 'vhost' }, 'the virtual host\'s context extensions');
  t.equal(httpAttrs.body, undefined, 'a request without a body sends none');
  const deadline = authz.calls[0].deadlineMs;
  t.ok(deadline > 0 && deadline <= 300, `the call carries the 300 ms timeout as grpc-timeout (${Math.round(deadline)} ms left)`);

  // Denied: the service's answer goes to the client, nothing upstream.
  const seenBefore = upstream.seen.length;
  const denied = await request(closed, '/deny');
  t.equal(denied.status, 401, 'the DeniedHttpResponse status');
  t.equal(denied.body, 'go away');
  t.equal(denied.headers['www-authenticate'], 'Bearer realm="test"');
  t.equal(upstream.seen.length, seenBefore, 'a denied request never reaches the upstream');
  t.equal(await waitForLogLine(logPath, '/deny'), '/deny 401 UAEX ext_authz_denied');

  // The service failing, or not answering within the timeout.
  const failed = await request(closed, '/fail');
  t.equal(failed.status, 403, 'status_on_error defaults to 403');
  t.equal(await waitForLogLine(logPath, '/fail'), '/fail 403 UAEX ext_authz_error');
  const started = performance.now();
  const slow = await request(closed, '/slow');
  const waited = performance.now() - started;
  t.equal(slow.status, 403, 'a timeout is an error');
  t.ok(waited >= 250 && waited < 2000, `answered after the 300 ms timeout (${Math.round(waited)} ms)`);

  // failure_mode_allow: the same failures let the request on, marked for the upstream.
  const failOpen = await request(open, '/fail');
  t.equal(failOpen.status, 200);
  t.equal((JSON.parse(failOpen.body) as Echo).headers['x-envoy-auth-failure-mode-allowed'], 'true');
  const slowOpen = await request(open, '/slow');
  t.equal(slowOpen.status, 200, 'a timeout with failure_mode_allow goes on');
  t.equal((await request(open, '/deny')).status, 401, 'failure_mode_allow never overrides a denial');

  // The body, and per-route settings.
  const before = authz.checks.length;
  const posted = await request(closed, '/anything', { method: 'POST', body: 'hello body', headers: { 'content-type': 'text/plain' } });
  t.equal(posted.status, 200);
  t.equal((JSON.parse(posted.body) as Echo).body, 'hello body', 'the buffered body goes on upstream');
  const bodyCheck = authz.checks[before].attributes.request!.http;
  t.equal(bodyCheck.body, 'hello body', 'with_request_body sends the body');
  t.equal(bodyCheck.headers['x-envoy-auth-partial-body'], 'false');
  t.equal(bodyCheck.method, 'POST');

  const ctx = await request(closed, '/ctx');
  t.equal(ctx.status, 200);
  t.same(authz.checks.at(-1)!.attributes.context_extensions, { tenant: 'a', scope: 'route' }, 'the route\'s extensions over the virtual host\'s');
  const checksBefore = authz.checks.length;
  t.equal((await request(closed, '/public/x')).status, 200);
  t.equal(authz.checks.length, checksBefore, 'a route with ExtAuthzPerRoute disabled is not checked');

  // clear_route_cache: a header the service sets picks another route; without it the route stays.
  t.equal((JSON.parse((await request(closed, '/reroute')).body) as Echo).upstream, 'app2', 'clear_route_cache: routed again on the new header');
  t.equal((JSON.parse((await request(open, '/reroute')).body) as Echo).upstream, 'app', 'without clear_route_cache the first route stays');

  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('http.closed.ext_authz.ok'), 4, '/allow, the POST, /ctx, /reroute');
  t.equal(stats.get('http.closed.ext_authz.denied'), 1);
  t.equal(stats.get('http.closed.ext_authz.error'), 2, '/fail and /slow');
  t.equal(stats.get('http.open.ext_authz.error'), 2);
  t.equal(stats.get('http.open.ext_authz.failure_mode_allowed'), 2);
  t.equal(stats.get('http.open.ext_authz.denied'), 1);
  t.equal(stats.get('http.open.ext_authz.ok'), 1, '/reroute');
  t.equal(stats.get('cluster.app.ext_authz.ok'), 5, 'counted under the route\'s cluster too (the one routed to when checked)');
  t.equal(stats.get('cluster.app.ext_authz.denied'), 2);
  t.equal(stats.get('cluster.authz.upstream_rq_timeout'), 2, 'the checks go through the authz cluster');
});

t.test('ext_authz over mutual TLS and HTTP/2: principals, the peer certificate, SNI, protocol', { skip: opensslMissing() }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const server = ca.issue('proxy.test', ['DNS:proxy.test', 'URI:spiffe://cluster.local/ns/default/sa/proxy']);
  const client = ca.issue('sleep', ['URI:spiffe://cluster.local/ns/default/sa/sleep']);
  const authz = await startAuthzServer(t);
  const upstream = await startUpstream('backend', echoHandler('backend'));
  t.teardown(() => upstream.close());
  const extAuthz = {
    name: 'envoy.filters.http.ext_authz',
    typed_config: {
      '@type': EXT_AUTHZ_TYPE,
      grpc_service: { envoy_grpc: { cluster_name: 'authz' }, initial_metadata: [{ key: 'x-caller', value: 'legate' }] },
      include_peer_certificate: true,
      include_tls_session: true,
      metadata_context_namespaces: ['envoy.filters.http.rbac', 'envoy.filters.http.jwt_authn'],
    },
  };
  // Its shadow verdict is dynamic metadata the check carries.
  const rbac = {
    name: 'envoy.filters.http.rbac',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
      shadow_rules: { action: 'DENY', policies: { 'audit-h2': { permissions: [{ url_path: { path: { prefix: '/allow' } } }], principals: [{ any: true }] } } },
    },
  };
  const legate = await startLegate(bootstrap(
    [{
      name: 'mtls',
      address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
      filter_chains: [{
        transport_socket: downstreamTls(
          { tls_certificates: [certFiles(server)], validation_context: { trusted_ca: { filename: ca.certFile } }, alpn_protocols: ['h2', 'http/1.1'] },
          { require_client_certificate: true },
        ),
        filters: [hcmToBackend('mtls', { http_filters: [rbac, extAuthz, { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }] })],
      }],
    }],
    [staticCluster('backend', [{ port: upstream.port }]), staticCluster('authz', [{ port: authz.port }], { http2_protocol_options: {} })],
  ));
  t.teardown(() => legate.stop());

  const session = http2.connect(`https://127.0.0.1:${legate.port('mtls')}`, { ca: ca.cert, cert: client.cert, key: client.key, servername: 'proxy.test' });
  session.on('error', () => undefined);
  t.teardown(() => session.destroy());
  const status = await new Promise<number>((resolve, reject) => {
    const req = session.request({ ':method': 'GET', ':path': '/allow/h2' }, { endStream: true });
    let code = 0;
    req.on('response', (h) => (code = Number(h[':status'])));
    req.on('data', () => undefined);
    req.on('end', () => resolve(code));
    req.on('error', reject);
  });
  t.equal(status, 200);
  const check = authz.checks[0].attributes;
  t.equal(check.request!.http.protocol, 'HTTP/2');
  t.equal(check.request!.http.headers[':authority'], `proxy.test:${legate.port('mtls')}`, 'HTTP/2\'s :authority');
  t.equal(check.request!.http.scheme, 'https');
  t.equal(check.source.principal, 'spiffe://cluster.local/ns/default/sa/sleep', 'the client certificate\'s URI SAN');
  t.equal(check.destination.principal, 'spiffe://cluster.local/ns/default/sa/proxy', 'Legate\'s own certificate\'s URI SAN');
  t.match(decodeURIComponent(check.source.certificate ?? ''), /^-----BEGIN CERTIFICATE-----\n/, 'include_peer_certificate: the client\'s certificate, URL-encoded PEM');
  t.equal(check.tls_session?.sni, 'proxy.test', 'include_tls_session: the SNI');
  t.same(check.metadata_context?.filter_metadata, {
    'envoy.filters.http.rbac': { fields: { shadow_engine_result: { stringValue: 'denied' }, shadow_effective_policy_id: { stringValue: 'audit-h2' } } },
  }, 'metadata_context_namespaces: the rbac filter\'s shadow verdict (a namespace nothing wrote is left out)');
  t.equal(authz.calls[0].metadata['x-caller'], 'legate', 'initial_metadata goes with the call');
  t.equal(authz.calls[0].authority, 'authz', 'the call\'s authority is the cluster name');
  t.ok(authz.calls[0].deadlineMs > 0 && authz.calls[0].deadlineMs <= 200, 'the default timeout is 200 ms');
});

/** Connects, writes 'ping', and resolves with what came back before the connection closed (bounded). */
function ping(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write('ping'));
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within 5 s; received '${received}'`));
    }, 5000);
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      received += d.toString();
      if (received === 'ping') socket.end();
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

t.test('envoy.filters.network.ext_authz before tcp_proxy: allowed, denied, failing', async (t) => {
  const authz = await startAuthzServer(t);
  const echo = await startEchoServer();
  t.teardown(() => echo.close());
  const networkAuthz = (statPrefix: string, extra: object = {}) => ({
    name: 'envoy.filters.network.ext_authz',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.ext_authz.v3.ExtAuthz', stat_prefix: statPrefix, grpc_service: { envoy_grpc: { cluster_name: 'authz' } }, ...extra },
  });
  const tcpListener = (name: string, extra: object = {}) => ({
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{ filters: [networkAuthz(name, extra), tcpProxyFilter(name, 'echo')] }],
  });
  const app = await startUpstream('backend');
  t.teardown(() => app.close());
  // In front of a connection manager too: the HTTP request sent while the connection is checked.
  const httpChain = {
    name: 'http',
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{ filters: [networkAuthz('http'), hcmToBackend('http_behind_authz')] }],
  };
  const legate = await startLegate(bootstrap(
    [tcpListener('allowed'), tcpListener('denied'), tcpListener('failing'), tcpListener('failing_open', { failure_mode_allow: true }), httpChain],
    [staticCluster('echo', [{ port: echo.port }]), staticCluster('backend', [{ port: app.port }]), staticCluster('authz', [{ port: authz.port }], { http2_protocol_options: {} })],
  ));
  t.teardown(() => legate.stop());
  authz.tcpVerdicts.set(legate.port('denied'), 'deny');
  authz.tcpVerdicts.set(legate.port('failing'), 'fail');
  authz.tcpVerdicts.set(legate.port('failing_open'), 'fail');

  t.equal(await ping(legate.port('allowed')), 'ping', 'an allowed connection is proxied, the bytes sent while checking included');
  t.equal(await ping(legate.port('denied')), '', 'a denied connection is closed');
  t.equal(await ping(legate.port('failing')), '', 'an error closes it too');
  t.equal(await ping(legate.port('failing_open')), 'ping', 'unless failure_mode_allow');
  const check = authz.checks.find((c) => c.attributes.destination.address?.socket_address?.port_value === legate.port('allowed'))!;
  t.equal(check.attributes.request, undefined, 'a connection\'s check has no request');
  t.equal(check.attributes.source.address?.socket_address?.address, '127.0.0.1');

  const viaHcm = await new Promise<number>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: legate.port('http'), path: '/through', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
  t.equal(viaHcm, 200, 'an HTTP request on an allowed connection reaches the connection manager and its upstream');

  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('ext_authz.http.ok'), 1);
  t.equal(stats.get('ext_authz.allowed.total'), 1);
  t.equal(stats.get('ext_authz.allowed.ok'), 1);
  t.equal(stats.get('ext_authz.denied.denied'), 1);
  t.equal(stats.get('ext_authz.denied.cx_closed'), 1);
  t.equal(stats.get('ext_authz.failing.error'), 1);
  t.equal(stats.get('ext_authz.failing_open.failure_mode_allowed'), 1);
  t.equal(stats.get('ext_authz.allowed.active'), 0);
  t.equal(echo.accepted.length, 2, 'only the two allowed connections reached the upstream');
});
