// The ratelimit filter when Redis goes away: killed, requests fail open (or get 500 with flag
// RLSE under failure_mode_deny), one log line says so, and limits hold again once Redis is back.
// Paused, Redis is slower than the filter's timeout: the same, within the timeout.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { bootstrap, fileAccessLog, httpListener, routes, ROUTER_TYPE, staticCluster } from '../../support/bootstrap.ts';
import { statsMap, waitFor, waitForLines } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';
import { redisMissing, startRedis } from '../../support/redis.ts';

const missing = redisMissing();
if (missing !== undefined) {
  t.plan(0, `skipped: ${missing}`);
} else {
  const LIMIT = 3;
  const TIMEOUT_MS = 50;
  const dir = mkdtempSync(join(tmpdir(), 'legate-ratelimit-outage-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const limitsPath = join(dir, 'limits.yaml');
  writeFileSync(limitsPath, `domain: edge\ndescriptors:\n  - key: tenant\n    rate_limit: { unit: hour, requests_per_unit: ${LIMIT} }\n`);
  const logPath = join(dir, 'access.log');

  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const upstream = await startUpstream('backend');
  t.teardown(() => upstream.close());

  // Two listeners, one filter each: fail open (Envoy's default) and failure_mode_deny.
  const listener = (name: string, deny: boolean) =>
    httpListener(
      name,
      routes([
        { match: { prefix: '/' }, route: { cluster: 'backend', rate_limits: [{ actions: [{ request_headers: { header_name: 'x-tenant', descriptor_key: 'tenant' } }] }] } },
      ]),
      {
        http_filters: [
          {
            name: 'envoy.filters.http.ratelimit',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit',
              domain: 'edge',
              timeout: `${TIMEOUT_MS / 1000}s`,
              failure_mode_deny: deny,
              rate_limit_service: { grpc_service: { envoy_grpc: { cluster_name: 'ratelimit' } }, transport_api_version: 'V3' },
            },
          },
          { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
        ],
        access_log: [fileAccessLog(logPath, `${name} %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n`)],
      },
    );
  const lines: string[] = [];
  const legate = await startLegate(
    bootstrap([listener('open', false), listener('closed', true)], [staticCluster('backend', [{ port: upstream.port }])], {
      node: { id: 'test', cluster: 'edge', metadata: { 'legate.ratelimit': { limits_path: limitsPath, redis_url: redis.url } } },
    }),
    { log: (line) => lines.push(line) },
  );
  t.teardown(() => legate.stop());
  // Start-up may log an outage of its own (a cold first request slower than the timeout): only
  // lines after the warm-up below count.
  let linesBefore = 0;
  const outageLines = () => lines.filter((l) => l.startsWith('ratelimit: counter store')).slice(linesBefore);

  const dispatcher = new Agent({ connections: 4 });
  t.teardown(() => dispatcher.close());
  let logged = 0;
  const get = async (listenerName: string, tenant: string): Promise<number> => {
    const res = await request(legate.url('/', listenerName), { dispatcher, headers: { 'x-tenant': tenant } });
    await res.body.dump();
    logged++;
    return res.statusCode;
  };
  const statuses = async (listenerName: string, tenant: string, n: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await get(listenerName, tenant));
    return out;
  };
  const baseline = new Map<string, number>();
  // "Back" is said by the first request counted after a quiet second: poll with fresh tenants
  // (a tenant over its limit is answered from the local cache, without Redis).
  const recoveryLogged = (lineCount: number) =>
    waitFor(`log line ${lineCount} (Redis answers again)`, async () => {
      if (outageLines().length >= lineCount) return true;
      await get('open', `probe-${logged}`);
      return undefined;
    }, 5000, 50);
  const counter = async (name: string) => ((await statsMap(legate.adminUrl(''))).get(name) ?? 0) - (baseline.get(name) ?? 0);

  // Warm up: until a deny-mode request passes (the service answers within its timeout) and a
  // start-up outage, if any, has been logged as over.
  await waitFor('the rate limit service to answer', async () => {
    const answered = (await get('closed', `warm-${logged}`)) === 200;
    const settled = lines.filter((l) => l.startsWith('ratelimit: counter store')).length % 2 === 0;
    return answered && settled ? true : undefined;
  }, 5000, 20);
  linesBefore = lines.filter((l) => l.startsWith('ratelimit: counter store')).length;
  for (const [name, value] of await statsMap(legate.adminUrl(''))) baseline.set(name, value);
  const logBefore = logged;

  t.test('with Redis up the limit holds', async (t) => {
    t.same(await statuses('open', 'before', LIMIT + 1), [200, 200, 200, 429]);
    t.same(outageLines(), []);
  });

  t.test('Redis killed: fail open, or 500 RLSE with failure_mode_deny; one log line', async (t) => {
    await redis.kill();
    t.same(await statuses('open', 'during', 2 * LIMIT), Array(2 * LIMIT).fill(200), 'no limit without Redis');
    t.same(await statuses('closed', 'during', 2), [500, 500]);
    t.equal(await get('open', 'before'), 429, 'a key known over the limit stays limited until its window ends');
    t.equal(await counter('cluster.backend.ratelimit.error'), 2 * LIMIT + 2);
    t.equal(await counter('cluster.backend.ratelimit.failure_mode_allowed'), 2 * LIMIT);
    t.equal(await counter('ratelimit.service.call.should_rate_limit.redis_error'), 2 * LIMIT + 2);
    t.equal(outageLines().length, 1, `one line for the outage: ${outageLines().join(' | ')}`);
    t.match(outageLines()[0], /is failing/);
    const log = await waitForLines(logPath, logged);
    t.equal(log.slice(logBefore).filter((l) => l === 'closed 500 RLSE rate_limiter_error').length, 2);
  });

  t.test('Redis back: limits hold again, and one line says so', async (t) => {
    await redis.restart();
    // The client reconnects on its own (back-off up to 2 s): wait until it counts again.
    await waitFor('the rate limit service to reach Redis again', async () => ((await get('closed', `probe-${logged}`)) === 200 ? true : undefined), 15_000, 50);
    t.same(await statuses('open', 'after', LIMIT + 1), [200, 200, 200, 429]);
    await recoveryLogged(2);
    t.equal(outageLines().length, 2);
    t.match(outageLines()[1], /answers again after \d+ failed requests/);
  });

  t.test('Redis slower than the timeout: answered within it, as a failure', async (t) => {
    redis.pause();
    t.teardown(() => redis.resume());
    const started = performance.now();
    t.equal(await get('open', 'slow'), 200);
    const tookMs = performance.now() - started;
    t.ok(tookMs < TIMEOUT_MS + 500, `answered in ${tookMs.toFixed(0)} ms with a ${TIMEOUT_MS} ms timeout`);
    t.equal(await get('closed', 'slow'), 500);
    t.equal(outageLines().length, 3);
    t.match(outageLines()[2], new RegExp(`no answer within ${TIMEOUT_MS} ms`));
    redis.resume();
    await waitFor('Redis to answer again', async () => ((await get('closed', `probe-${logged}`)) === 200 ? true : undefined), 5000, 20);
    t.same(await statuses('open', 'after-pause', LIMIT + 1), [200, 200, 200, 429]);
    await recoveryLogged(4);
    t.match(outageLines()[3], /answers again after \d+ failed requests?/);
  });
}
