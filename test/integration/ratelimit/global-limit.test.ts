// envoy.filters.http.ratelimit against a real Redis: two Legate instances share one limit of N
// per minute, and over a burst spread across both exactly N requests pass. Over the limit: 429,
// flag RL, x-envoy-ratelimited and x-ratelimit-* headers; shadow-mode limits only count.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { bootstrap, fileAccessLog, httpListener, routes, ROUTER_TYPE, staticCluster } from '../../support/bootstrap.ts';
import { statsMap, waitForLines } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';
import { redisMissing, startRedis } from '../../support/redis.ts';

const missing = redisMissing();
if (missing !== undefined) {
  t.plan(0, `skipped: ${missing}`);
} else {
  const LIMIT = 20;
  const dir = mkdtempSync(join(tmpdir(), 'legate-ratelimit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const limitsPath = join(dir, 'limits.yaml');
  writeFileSync(
    limitsPath,
    `domain: edge
descriptors:
  - key: tenant
    rate_limit: { unit: minute, requests_per_unit: ${LIMIT} }
  - key: generic_key
    value: shadowed
    rate_limit: { unit: minute, requests_per_unit: 1 }
    shadow_mode: true
`,
  );

  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const upstream = await startUpstream('backend');
  t.teardown(() => upstream.close());

  const config = (logPath: string) =>
    bootstrap(
      [
        httpListener(
          'ingress',
          routes([
            {
              match: { prefix: '/shadow' },
              route: { cluster: 'backend', rate_limits: [{ actions: [{ generic_key: { descriptor_value: 'shadowed' } }] }] },
            },
            {
              match: { prefix: '/' },
              route: { cluster: 'backend', rate_limits: [{ actions: [{ request_headers: { header_name: 'x-tenant', descriptor_key: 'tenant' } }] }] },
            },
          ]),
          {
            http_filters: [
              {
                name: 'envoy.filters.http.ratelimit',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit',
                  domain: 'edge',
                  timeout: '1s',
                  enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
                  rate_limit_service: { grpc_service: { envoy_grpc: { cluster_name: 'ratelimit' } }, transport_api_version: 'V3' },
                },
              },
              { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
            ],
            access_log: [fileAccessLog(logPath, '%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n')],
          },
        ),
      ],
      [staticCluster('backend', [{ port: upstream.port }])],
      { node: { id: 'test', cluster: 'edge', metadata: { 'legate.ratelimit': { limits_path: limitsPath, redis_url: redis.url } } } },
    );
  const logs = [join(dir, 'a.log'), join(dir, 'b.log')];
  const legates = [await startLegate(config(logs[0])), await startLegate(config(logs[1]))];
  t.teardown(() => Promise.all(legates.map((l) => l.stop())));

  const dispatcher = new Agent({ connections: 16 });
  t.teardown(() => dispatcher.close());

  interface Answer {
    status: number;
    headers: Record<string, string | string[] | undefined>;
  }
  const get = async (url: string, headers: Record<string, string> = {}): Promise<Answer> => {
    const res = await request(url, { dispatcher, headers });
    await res.body.dump();
    return { status: res.statusCode, headers: res.headers };
  };

  // A burst of `total` requests for one tenant, alternating between the two instances, all in flight
  // at once. Retried with a fresh tenant if it straddled a minute boundary (two windows).
  const burst = async (total: number): Promise<{ tenant: string; answers: Answer[] }> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const tenant = `t${process.pid}-${attempt}`;
      const window = Math.floor(Date.now() / 60_000);
      const answers = await Promise.all(
        Array.from({ length: total }, (_, i) => get(legates[i % 2].url('/'), { 'x-tenant': tenant })),
      );
      if (Math.floor(Date.now() / 60_000) === window) return { tenant, answers };
    }
    throw new Error('three bursts in a row straddled a minute boundary');
  };

  const TOTAL = 3 * LIMIT;
  const { answers } = await burst(TOTAL);

  t.test('across both instances exactly N requests pass', async (t) => {
    const passed = answers.filter((a) => a.status === 200).length;
    const limited = answers.filter((a) => a.status === 429);
    t.equal(passed, LIMIT);
    t.equal(limited.length, TOTAL - LIMIT);
    for (const a of answers) t.match(a.headers['x-ratelimit-limit'], `${LIMIT}, ${LIMIT};w=60`);
    const remaining = answers.filter((a) => a.status === 200).map((a) => Number(a.headers['x-ratelimit-remaining'])).sort((x, y) => x - y);
    t.same(remaining, Array.from({ length: LIMIT }, (_, i) => i), 'each admitted request saw its own count');
    for (const a of limited) {
      t.equal(a.headers['x-envoy-ratelimited'], 'true');
      t.equal(a.headers['x-ratelimit-remaining'], '0');
      const reset = Number(a.headers['x-ratelimit-reset']);
      t.ok(reset >= 1 && reset <= 60, `reset ${reset} s is within the minute`);
    }
    t.equal(upstream.seen.length, LIMIT, 'only admitted requests reached the upstream');
  });

  t.test('an over-limit answer is flagged RL in the access log', async (t) => {
    const limitedOn = (i: number) => answers.filter((_, j) => j % 2 === i && answers[j].status === 429).length;
    for (const i of [0, 1]) {
      const lines = await waitForLines(logs[i], TOTAL / 2);
      t.equal(lines.filter((l) => l === '429 RL request_rate_limited').length, limitedOn(i));
    }
  });

  t.test('stats: Envoy\'s per-cluster filter stats and the service\'s per-descriptor stats', async (t) => {
    const stats = await Promise.all(legates.map((l) => statsMap(l.adminUrl(''))));
    const sum = (name: string) => stats.reduce((total, s) => total + (s.get(name) ?? 0), 0);
    t.equal(sum('cluster.backend.ratelimit.ok'), LIMIT);
    t.equal(sum('cluster.backend.ratelimit.over_limit'), TOTAL - LIMIT);
    t.equal(sum('cluster.backend.ratelimit.error'), 0);
    t.equal(sum('ratelimit.service.rate_limit.edge.tenant.total_hits'), TOTAL);
    t.equal(sum('ratelimit.service.rate_limit.edge.tenant.within_limit'), LIMIT);
    t.equal(sum('ratelimit.service.rate_limit.edge.tenant.over_limit'), TOTAL - LIMIT);
  });

  t.test('a request without the descriptor\'s header is not limited', async (t) => {
    for (let i = 0; i < 3; i++) t.equal((await get(legates[0].url('/'))).status, 200);
  });

  t.test('a shadow-mode limit counts over-limit hits but lets them through', async (t) => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(legates[i % 2].url('/shadow'))).status);
    t.same(statuses, [200, 200, 200, 200]);
    const stats = await Promise.all(legates.map((l) => statsMap(l.adminUrl(''))));
    const sum = (name: string) => stats.reduce((total, s) => total + (s.get(name) ?? 0), 0);
    t.equal(sum('ratelimit.service.rate_limit.edge.generic_key_shadowed.shadow_mode'), 3);
  });
}
