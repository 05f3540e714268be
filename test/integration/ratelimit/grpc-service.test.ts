// envoy.filters.http.ratelimit against a real gRPC rate limit service written here on @grpc/grpc-js
// with Envoy's own envoy/service/ratelimit/v3/rls.proto (what envoyproxy/ratelimit serves), with no
// node.metadata "legate.ratelimit": the filter calls ShouldRateLimit on the envoy_grpc cluster.
// The service decides by the x-mode descriptor: allows (headers for the upstream and the client,
// descriptor statuses), answers OVER_LIMIT (429 RL with its headers, raw_body, x-envoy-ratelimited,
// x-ratelimit-*), fails (UNAVAILABLE) and never answers (the 250 ms timeout) — with
// failure_mode_deny on (status_on_error, RLSE) and off (the request goes on). What it was sent
// (domain, descriptors, hits_addend, authority, initial_metadata, grpc-timeout), UNKNOWN as OK, a
// call cancelled when its request goes away, Envoy's stats, and the answer's dynamic_metadata
// read by a later filter (ext_authz's filter_enabled_metadata and metadata_context, a nested struct
// kept whole).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import t, { type Test } from 'tap';
import { bootstrap, fileAccessLog, httpListener, routes, ROUTER_TYPE, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, statsMap, waitFor, waitForLogLine } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { echoHandler, startUpstream, type Echo } from '../../support/upstream.ts';

const RATELIMIT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit';

// Envoy's protos as grpc-js-xds ships them, and the include paths their imports need.
const require = createRequire(import.meta.url);
const deps = join(resolve(dirname(require.resolve('@grpc/grpc-js-xds')), '..', '..'), 'deps');
const definition = protoLoader.loadSync('envoy/service/ratelimit/v3/rls.proto', {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d)).concat(dirname(require.resolve('protobufjs'))),
});
const RateLimitService = definition['envoy.service.ratelimit.v3.RateLimitService'] as grpc.ServiceDefinition;
const Authorization = protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', {
  keepCase: true,
  defaults: false,
  includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d)).concat(dirname(require.resolve('protobufjs'))),
})['envoy.service.auth.v3.Authorization'] as grpc.ServiceDefinition;

interface RateLimitRequest {
  domain: string;
  descriptors: { entries: { key: string; value: string }[] }[];
  hits_addend?: number;
}

interface RlsServer {
  port: number;
  requests: RateLimitRequest[];
  calls: { metadata: Record<string, string>; authority: string; deadlineMs: number }[];
  /** The modes of the calls the client cancelled (Legate reset the stream: a timeout, or the request went away). */
  cancelled: string[];
  /** Authorization/Check calls (ext_authz, enabled by the rate limit service's metadata): each denied. */
  authzChecks: number;
  /** The envoy.filters.http.ratelimit namespace of the last check's metadata_context. */
  authzMetadata?: unknown;
}

function modeOf(request: RateLimitRequest): string {
  for (const d of request.descriptors) for (const e of d.entries) if (e.key === 'mode') return e.value;
  return '';
}

async function startRlsServer(t: Test): Promise<RlsServer> {
  const server = new grpc.Server();
  const result: RlsServer = { port: 0, requests: [], calls: [], cancelled: [], authzChecks: 0 };
  const held: grpc.sendUnaryData<unknown>[] = [];
  server.addService(RateLimitService, {
    ShouldRateLimit: (call: grpc.ServerUnaryCall<RateLimitRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      result.requests.push(call.request);
      call.on('cancelled', () => result.cancelled.push(modeOf(call.request)));
      const deadline = call.getDeadline();
      result.calls.push({
        metadata: Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)])),
        authority: call.getHost(),
        deadlineMs: (deadline instanceof Date ? deadline.getTime() : Number(deadline)) - Date.now(),
      });
      const mode = modeOf(call.request);
      if (mode === 'allow') {
        cb(null, {
          overall_code: 'OK',
          statuses: [
            { code: 'OK', current_limit: { requests_per_unit: 100, unit: 'HOUR' }, limit_remaining: 90, duration_until_reset: { seconds: 1800 } },
            { code: 'OK', current_limit: { name: 'per-mode', requests_per_unit: 10, unit: 'MINUTE' }, limit_remaining: 7, duration_until_reset: { seconds: 42 } },
          ],
          response_headers_to_add: [{ key: 'X-RLS-Note', value: 'counted' }],
          request_headers_to_add: [{ key: 'x-rls-tenant', value: 't1' }],
        });
      } else if (mode === 'over') {
        cb(null, {
          overall_code: 'OVER_LIMIT',
          statuses: [
            { code: 'OVER_LIMIT', current_limit: { name: 'burst', requests_per_unit: 2, unit: 'SECOND' }, limit_remaining: 0, duration_until_reset: { seconds: 1 } },
            { code: 'OK', current_limit: { requests_per_unit: 5, unit: 'MONTH' }, limit_remaining: 3, duration_until_reset: { seconds: 86400 } },
            { code: 'OK' },
          ],
          response_headers_to_add: [{ key: 'retry-after', value: '1' }, { key: 'content-type', value: 'application/json' }],
          request_headers_to_add: [{ key: 'x-never', value: 'sent' }],
          raw_body: Buffer.from('{"error":"slow down"}'),
        });
      } else if (mode === 'fail') {
        cb({ code: grpc.status.UNAVAILABLE, details: 'redis down' });
      } else if (mode === 'gold') {
        cb(null, { overall_code: 'OK', dynamic_metadata: { fields: { tier: { stringValue: 'gold' }, nested: { structValue: { fields: { level: { numberValue: 2 } } } } } } });
      } else if (mode === 'unknown') {
        cb(null, {}); // overall_code UNKNOWN
      } else if (mode === 'slow' || mode === 'hang') {
        held.push(cb); // answered only at teardown, long after the timeout
      } else {
        cb(null, { overall_code: 'OK' });
      }
    },
  });
  server.addService(Authorization, {
    Check: (call: { request: { attributes?: { metadata_context?: { filter_metadata?: Record<string, unknown> } } } }, cb: grpc.sendUnaryData<unknown>) => {
      result.authzChecks++;
      result.authzMetadata = call.request.attributes?.metadata_context?.filter_metadata?.['envoy.filters.http.ratelimit'];
      cb(null, { status: { code: grpc.status.PERMISSION_DENIED } });
    },
  });
  result.port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? rej(err) : res(port))));
  t.teardown(() => {
    for (const cb of held) cb({ code: grpc.status.CANCELLED });
    server.forceShutdown();
  });
  return result;
}

t.test('ratelimit over gRPC: allow, over the limit, error and timeout, failure_mode_deny both ways', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'legate-rls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logPath = join(dir, 'access.log');
  const rls = await startRlsServer(t);
  const upstream = await startUpstream('backend', echoHandler('backend'));
  t.teardown(() => upstream.close());

  const routeConfig = routes([
    { match: { prefix: '/free' }, route: { cluster: 'backend' } },
    {
      match: { prefix: '/' },
      route: {
        cluster: 'backend',
        rate_limits: [
          { actions: [{ generic_key: { descriptor_value: 'all' } }] },
          { actions: [{ request_headers: { header_name: 'x-mode', descriptor_key: 'mode' } }, { destination_cluster: {} }] },
        ],
      },
    },
  ]);
  const ratelimit = (extra: object) => ({
    name: 'envoy.filters.http.ratelimit',
    typed_config: {
      '@type': RATELIMIT_TYPE,
      domain: 'edge',
      timeout: '0.25s',
      rate_limit_service: {
        transport_api_version: 'V3',
        grpc_service: { envoy_grpc: { cluster_name: 'rls', authority: 'rls.example' }, initial_metadata: [{ key: 'x-caller', value: 'legate' }] },
      },
      ...extra,
    },
  });
  const router = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } };
  // Istio's CUSTOM-action shape: ext_authz asks only about requests whose metadata says so, here
  // the rate limit service's (the authorization service denies whatever it is asked).
  const extAuthzOnGold = {
    name: 'envoy.filters.http.ext_authz',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
      transport_api_version: 'V3',
      grpc_service: { envoy_grpc: { cluster_name: 'authz' } },
      filter_enabled_metadata: { filter: 'envoy.filters.http.ratelimit', path: [{ key: 'tier' }], value: { string_match: { exact: 'gold' } } },
      metadata_context_namespaces: ['envoy.filters.http.ratelimit'],
    },
  };
  const log = fileAccessLog(logPath, '%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n');
  const legate = await startLegate(bootstrap(
    [
      httpListener('closed', routeConfig, {
        http_filters: [ratelimit({ failure_mode_deny: true, status_on_error: { code: 'ServiceUnavailable' }, enable_x_ratelimit_headers: 'DRAFT_VERSION_03' }), router],
        access_log: [log],
      }),
      httpListener('open', routeConfig, { http_filters: [ratelimit({}), router] }),
      httpListener('patient', routeConfig, { http_filters: [ratelimit({ timeout: '5s' }), router] }),
      httpListener('metadata', routeConfig, { http_filters: [ratelimit({}), extAuthzOnGold, router] }),
    ],
    [
      staticCluster('backend', [{ port: upstream.port }]),
      staticCluster('rls', [{ port: rls.port }], { http2_protocol_options: {} }),
      staticCluster('authz', [{ port: rls.port }], { http2_protocol_options: {} }),
    ],
  ));
  t.teardown(() => legate.stop());
  const closed = (path: string, mode?: string) => fetchText(legate.url(path, 'closed'), { headers: mode === undefined ? {} : { 'x-mode': mode } });
  const open = (path: string, mode?: string) => fetchText(legate.url(path, 'open'), { headers: mode === undefined ? {} : { 'x-mode': mode } });

  // Allowed: the service's headers reach the upstream and the client, with x-ratelimit-*.
  const allowed = await closed('/a', 'allow');
  t.equal(allowed.status, 200);
  const echo = JSON.parse(allowed.body) as Echo;
  t.equal(echo.headers['x-rls-tenant'], 't1', 'request_headers_to_add goes upstream');
  t.equal(allowed.headers['x-rls-note'], 'counted', 'response_headers_to_add reaches the client on OK');
  t.equal(allowed.headers['x-envoy-ratelimited'], undefined);
  t.equal(allowed.headers['x-ratelimit-limit'], '10, 100;w=3600, 10;w=60;name="per-mode"', 'the least remaining limit, then every quota policy');
  t.equal(allowed.headers['x-ratelimit-remaining'], '7');
  t.equal(allowed.headers['x-ratelimit-reset'], '42');

  // What the service was asked.
  t.same(rls.requests[0], {
    domain: 'edge',
    descriptors: [
      { entries: [{ key: 'generic_key', value: 'all' }] },
      { entries: [{ key: 'mode', value: 'allow' }, { key: 'destination_cluster', value: 'backend' }] },
    ],
    hits_addend: 1,
  }, 'domain, the route\'s descriptors in order, hits_addend');
  t.equal(rls.calls[0].authority, 'rls.example', 'envoy_grpc.authority');
  t.equal(rls.calls[0].metadata['x-caller'], 'legate', 'initial_metadata');
  const deadline = rls.calls[0].deadlineMs;
  t.ok(deadline > 0 && deadline <= 250, `the call carries the 250 ms timeout as grpc-timeout (${Math.round(deadline)} ms left)`);

  // Over the limit: the service's answer goes to the client, nothing upstream.
  const seenBefore = upstream.seen.length;
  const over = await closed('/over', 'over');
  t.equal(over.status, 429);
  t.equal(over.body, '{"error":"slow down"}', 'raw_body is the 429\'s body');
  t.equal(over.headers['content-type'], 'application/json', 'the service\'s content-type replaces text/plain');
  t.equal(over.headers['retry-after'], '1');
  t.equal(over.headers['x-envoy-ratelimited'], 'true');
  t.equal(over.headers['x-ratelimit-limit'], '2, 2;w=1;name="burst"', 'a MONTH limit has no window in the quota policy');
  t.equal(over.headers['x-ratelimit-remaining'], '0');
  t.equal(over.headers['x-ratelimit-reset'], '1');
  t.equal(upstream.seen.length, seenBefore, 'an over-limit request never reaches the upstream');
  t.equal(await waitForLogLine(logPath, '/over'), '/over 429 RL request_rate_limited');

  // The service failing, or not answering within the timeout: status_on_error with RLSE.
  const failed = await closed('/fail', 'fail');
  t.equal(failed.status, 503, 'status_on_error');
  t.equal(await waitForLogLine(logPath, '/fail'), '/fail 503 RLSE rate_limiter_error');
  const started = performance.now();
  const slow = await closed('/slow', 'slow');
  const waited = performance.now() - started;
  t.equal(slow.status, 503, 'a timeout is an error');
  t.ok(waited >= 200 && waited < 2000, `answered after the 250 ms timeout (${Math.round(waited)} ms)`);

  // Without failure_mode_deny the same failures let the request on; no x-ratelimit-* unless enabled.
  const failOpen = await open('/fail', 'fail');
  t.equal(failOpen.status, 200);
  t.equal((JSON.parse(failOpen.body) as Echo).headers['x-rls-tenant'], undefined);
  const slowOpen = await open('/slow', 'slow');
  t.equal(slowOpen.status, 200, 'a timeout without failure_mode_deny goes on');
  const allowedOpen = await open('/a', 'allow');
  t.equal(allowedOpen.status, 200);
  t.equal(allowedOpen.headers['x-ratelimit-limit'], undefined, 'x-ratelimit-* only with DRAFT_VERSION_03');
  t.equal(allowedOpen.headers['x-rls-note'], 'counted');
  const overOpen = await open('/over', 'over');
  t.equal(overOpen.status, 429, 'over the limit is 429 either way');

  // UNKNOWN lets the request on, as Envoy's release builds do.
  t.equal((await closed('/unknown', 'unknown')).status, 200, 'overall_code UNKNOWN is not over the limit');

  // A route without rate_limits never asks.
  const callsBefore = rls.requests.length;
  t.equal((await closed('/free', 'over')).status, 200);
  t.equal(rls.requests.length, callsBefore, 'no descriptors, no call');

  // A request that goes away while its check is out cancels the call (long before its 5 s timeout).
  const callsNow = rls.calls.length;
  const abort = new AbortController();
  const gone = fetchText(legate.url('/hang', 'patient'), { headers: { 'x-mode': 'hang' }, signal: abort.signal }).then(() => 'answered', () => 'aborted');
  await waitFor('the call to arrive', () => (rls.calls.length > callsNow ? true : undefined));
  abort.abort();
  t.equal(await gone, 'aborted');
  await waitFor('the call to be cancelled', () => (rls.cancelled.includes('hang') ? true : undefined), 2000);
  t.pass('the service saw the call cancelled');

  // Envoy's stats, under the route's cluster; the calls counted by the service's cluster.
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('cluster.backend.ratelimit.ok'), 3);
  t.equal(stats.get('cluster.backend.ratelimit.over_limit'), 2);
  t.equal(stats.get('cluster.backend.ratelimit.error'), 4);
  t.equal(stats.get('cluster.backend.ratelimit.failure_mode_allowed'), 2);
  t.equal(stats.get('cluster.backend.upstream_rq_429'), 2, 'the 429s are charged to the route\'s cluster');
  t.equal(stats.get('cluster.rls.upstream_rq_total'), rls.requests.length, 'each check is a request on the rls cluster');
  t.equal(stats.get('cluster.rls.upstream_rq_timeout'), 2, 'the two unanswered calls timed out');

  // dynamic_metadata: its scalar fields become the request's under envoy.filters.http.ratelimit,
  // where a later filter reads them, a nested struct as it came.
  t.equal((await fetchText(legate.url('/g', 'metadata'), { headers: { 'x-mode': 'allow' } })).status, 200, 'no metadata: ext_authz is not asked');
  t.equal(rls.authzChecks, 0);
  t.equal((await fetchText(legate.url('/g', 'metadata'), { headers: { 'x-mode': 'gold' } })).status, 403, 'tier gold: ext_authz asks and is denied');
  t.equal(rls.authzChecks, 1);
  t.match(rls.authzMetadata, { fields: { tier: { stringValue: 'gold' }, nested: { structValue: { fields: { level: { numberValue: 2 } } } } } }, 'the check carries the namespace whole');
});

t.test('google_grpc is refused by name without the embedded service', async (t) => {
  const upstream = await startUpstream('backend');
  t.teardown(() => upstream.close());
  const config = bootstrap(
    [
      httpListener('ingress', routes([{ match: { prefix: '/' }, route: { cluster: 'backend' } }]), {
        http_filters: [
          {
            name: 'envoy.filters.http.ratelimit',
            typed_config: { '@type': RATELIMIT_TYPE, domain: 'edge', rate_limit_service: { transport_api_version: 'V3', grpc_service: { google_grpc: { target_uri: '127.0.0.1:1', stat_prefix: 'rls' } } } },
          },
          { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
        ],
      }),
    ],
    [staticCluster('backend', [{ port: upstream.port }])],
  );
  await t.rejects(startLegate(config), /rate_limit_service\.grpc_service\.google_grpc: not supported by Legate: the ratelimit filter reaches its rate limit service through a cluster \(envoy_grpc\)/);
});
