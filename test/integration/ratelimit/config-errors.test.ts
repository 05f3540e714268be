// The embedded rate limit service's configuration as a user meets it: a bad limits file or
// redis_url stops start-up with one line; without it the ratelimit filter calls the gRPC
// service at rate_limit_service, and a cluster that answers no gRPC is a service error.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { bootstrap, fileAccessLog, httpListener, routes, ROUTER_TYPE, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, statsMap, waitForLines } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'legate-ratelimit-config-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const upstream = await startUpstream('backend');
t.teardown(() => upstream.close());

const ratelimitFilter = (deny: boolean) => ({
  name: 'envoy.filters.http.ratelimit',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit',
    domain: 'edge',
    failure_mode_deny: deny,
    rate_limit_service: { grpc_service: { envoy_grpc: { cluster_name: 'backend' } }, transport_api_version: 'V3' },
  },
});

const config = (metadata: object, deny = false, logPath?: string) =>
  bootstrap(
    [
      httpListener('ingress', routes([{ match: { prefix: '/' }, route: { cluster: 'backend', rate_limits: [{ actions: [{ generic_key: { descriptor_value: 'all' } }] }] } }]), {
        http_filters: [ratelimitFilter(deny), { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
        ...(logPath === undefined ? {} : { access_log: [fileAccessLog(logPath, '%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n')] }),
      }),
    ],
    [staticCluster('backend', [{ port: upstream.port }])],
    { node: { id: 'test', cluster: 'edge', metadata } },
  );

/** Why start-up failed; a Legate that starts anyway is stopped, and the test fails on its text. */
async function startError(bootstrapConfig: object): Promise<string> {
  let legate;
  try {
    legate = await startLegate(bootstrapConfig);
  } catch (err) {
    return (err as Error).message;
  }
  await legate.stop();
  return 'Legate started';
}

t.test('a bad limits file stops start-up with file, line and field', async (t) => {
  const limitsPath = join(dir, 'bad.yaml');
  writeFileSync(limitsPath, 'domain: edge\ndescriptors:\n  - key: tenant\n    rate_limit: { unit: fortnight, requests_per_unit: 1 }\n');
  t.match(
    await startError(config({ 'legate.ratelimit': { limits_path: limitsPath } })),
    /bad\.yaml:4: descriptors\[0\]\.rate_limit\.unit: invalid rate limit unit 'fortnight' \(use second, minute, hour or day\)/,
  );
});

t.test('a redis_url that cannot be parsed stops start-up', async (t) => {
  const limitsPath = join(dir, 'good.yaml');
  writeFileSync(limitsPath, 'domain: edge\ndescriptors:\n  - key: generic_key\n    rate_limit: { unit: second, requests_per_unit: 1 }\n');
  t.match(
    await startError(config({ 'legate.ratelimit': { limits_path: limitsPath, redis_url: 'redis://127.0.0.1:99999' } })),
    /redis_url 'redis:\/\/127\.0\.0\.1:99999': port 99999 is out of range/,
  );
});

t.test('without legate.ratelimit the gRPC service is called: a cluster that is none fails every check open (or closed)', async (t) => {
  for (const deny of [false, true]) {
    const logPath = join(dir, `access-${deny}.log`);
    const legate = await startLegate(config({}, deny, logPath));
    t.teardown(() => legate.stop());
    const calls = () => upstream.seen.filter((r) => r.url === '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit').length;
    const callsBefore = calls();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetchText(legate.url('/'))).status);
    t.same(statuses, deny ? [500, 500, 500] : [200, 200, 200]);
    t.equal(calls() - callsBefore, 3, 'each check went to rate_limit_service\'s cluster (which answers no gRPC)');
    const stats = await statsMap(legate.adminUrl(''));
    t.equal(stats.get('cluster.backend.ratelimit.error'), 3);
    t.equal(stats.get('cluster.backend.ratelimit.failure_mode_allowed'), deny ? 0 : 3);
    if (deny) t.same(await waitForLines(logPath, 3), Array(3).fill('500 RLSE rate_limiter_error'));
  }
});
