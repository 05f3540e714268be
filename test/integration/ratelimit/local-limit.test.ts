// envoy.filters.http.local_ratelimit end to end: the filter's bucket, per-route and per-virtual-
// host overrides, FilterConfig disabled, not-enforced mode, Envoy's 429 answer and stats; and the
// rate a bucket holds over a measured interval, in one process and split across two workers.
import t from 'tap';
import { Agent, request } from 'undici';
import { bootstrap, fileAccessLog, httpListener, ROUTER_TYPE, staticCluster } from '../../support/bootstrap.ts';
import { statsMap, waitForLines } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { spawnLegate } from '../../support/legate-process.ts';
import { echoHandler, startUpstream, type Echo } from '../../support/upstream.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOCAL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const FILTER_CONFIG_TYPE = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';
const ALWAYS = { runtime_key: 'unused', default_value: { numerator: 100, denominator: 'HUNDRED' } };

const local = (statPrefix: string, bucket: { max_tokens: number; tokens_per_fill?: number; fill_interval: string }, extra: object = {}) => ({
  '@type': LOCAL_TYPE,
  stat_prefix: statPrefix,
  token_bucket: bucket,
  filter_enabled: ALWAYS,
  filter_enforced: ALWAYS,
  ...extra,
});
const perRoute = (config: object) => ({ typed_per_filter_config: { 'envoy.filters.http.local_ratelimit': config } });
const HOUR = '3600s';

// The rate test's bucket: 100 per second, and a burst of 50 so that a worker the scheduler leaves
// out for a while (two workers and the load generator share the test machine) loses no refill.
const RATE = { max_tokens: 50, tokens_per_fill: 50, fill_interval: '0.5s' };
const RATE_PER_S = 100;

const dir = mkdtempSync(join(tmpdir(), 'legate-local-ratelimit-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const logPath = join(dir, 'access.log');

const upstream = await startUpstream('backend', echoHandler('backend'));
t.teardown(() => upstream.close());

const routeConfig = {
  name: 'local',
  virtual_hosts: [
    {
      name: 'limited-host',
      domains: ['vh.example'],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'backend' } }],
      ...perRoute(local('per_vhost', { max_tokens: 1, fill_interval: HOUR })),
    },
    {
      name: 'all',
      domains: ['*'],
      routes: [
        { match: { prefix: '/route' }, route: { cluster: 'backend' }, ...perRoute(local('per_route', { max_tokens: 1, fill_interval: HOUR })) },
        { match: { prefix: '/disabled' }, route: { cluster: 'backend' }, ...perRoute({ '@type': FILTER_CONFIG_TYPE, disabled: true }) },
        {
          match: { prefix: '/unenforced' },
          route: { cluster: 'backend' },
          ...perRoute({
            '@type': LOCAL_TYPE,
            stat_prefix: 'unenforced',
            token_bucket: { max_tokens: 1, fill_interval: HOUR },
            filter_enabled: ALWAYS,
            request_headers_to_add_when_not_enforced: [{ header: { key: 'x-rate-limited', value: 'would-be' } }],
          }),
        },
        { match: { prefix: '/rate' }, route: { cluster: 'backend' }, ...perRoute(local('rate', RATE)) },
        { match: { prefix: '/' }, route: { cluster: 'backend' } },
      ],
    },
  ],
};

const config = bootstrap(
  [
    httpListener('ingress', routeConfig, {
      http_filters: [
        {
          name: 'envoy.filters.http.local_ratelimit',
          typed_config: local(
            'http_local_rate_limiter',
            { max_tokens: 2, fill_interval: HOUR },
            {
              enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
              response_headers_to_add: [{ append_action: 'OVERWRITE_IF_EXISTS_OR_ADD', header: { key: 'x-local-rate-limit', value: 'true' } }],
            },
          ),
        },
        { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
      ],
      access_log: [fileAccessLog(logPath, '%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n')],
    }),
  ],
  [staticCluster('backend', [{ port: upstream.port }])],
);

const legate = await startLegate(config);
t.teardown(() => legate.stop());
const dispatcher = new Agent({ connections: 16 });
t.teardown(() => dispatcher.close());

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
let sent = 0;
async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(url, { dispatcher, headers });
  sent++;
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}
const statuses = async (url: string, n: number, headers: Record<string, string> = {}) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await get(url, headers)).status);
  return out;
};

t.test('the filter\'s bucket: Envoy\'s 429 once it is empty', async (t) => {
  const first = await get(legate.url('/'));
  t.equal(first.status, 200);
  t.equal(first.headers['x-ratelimit-limit'], '2');
  t.equal(first.headers['x-ratelimit-remaining'], '1');
  t.equal(first.headers['x-ratelimit-reset'], '0');
  t.equal((await get(legate.url('/'))).headers['x-ratelimit-remaining'], '0');
  const limited = await get(legate.url('/'));
  t.equal(limited.status, 429);
  t.equal(limited.body, 'local_rate_limited');
  t.equal(limited.headers['x-envoy-ratelimited'], 'true');
  t.equal(limited.headers['x-local-rate-limit'], 'true', 'response_headers_to_add');
  t.equal(limited.headers['x-ratelimit-remaining'], '0');
  t.equal(limited.headers['x-ratelimit-reset'], '3600', 'one token an hour');
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('http_local_rate_limiter.http_local_rate_limit.enabled'), 3);
  t.equal(stats.get('http_local_rate_limiter.http_local_rate_limit.ok'), 2);
  t.equal(stats.get('http_local_rate_limiter.http_local_rate_limit.rate_limited'), 1);
  t.equal(stats.get('http_local_rate_limiter.http_local_rate_limit.enforced'), 1);
});

t.test('a route\'s or a virtual host\'s config brings its own bucket; disabled turns the filter off', async (t) => {
  t.same(await statuses(legate.url('/route'), 2), [200, 429]);
  t.same(await statuses(legate.url('/x', 'ingress'), 2, { host: 'vh.example' }), [200, 429]);
  t.same(await statuses(legate.url('/disabled'), 5), [200, 200, 200, 200, 200]);
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('per_route.http_local_rate_limit.rate_limited'), 1);
  t.equal(stats.get('per_vhost.http_local_rate_limit.rate_limited'), 1);
  t.equal(stats.get('http_local_rate_limiter.http_local_rate_limit.enabled'), 3, 'the filter\'s own bucket was not used');
});

t.test('not enforced: counted, passed on with request_headers_to_add_when_not_enforced', async (t) => {
  const first = await get(legate.url('/unenforced'));
  const second = await get(legate.url('/unenforced'));
  t.same([first.status, second.status], [200, 200]);
  t.equal((JSON.parse(first.body) as Echo).headers['x-rate-limited'], undefined);
  t.equal((JSON.parse(second.body) as Echo).headers['x-rate-limited'], 'would-be');
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('unenforced.http_local_rate_limit.rate_limited'), 1);
  t.equal(stats.get('unenforced.http_local_rate_limit.enforced'), 0);
});

t.test('a 429 from the local limit is flagged RL in the access log', async (t) => {
  const lines = await waitForLines(logPath, sent);
  t.ok(lines.includes('/ 429 RL local_rate_limited'), lines.join('\n'));
  t.equal(lines.filter((l) => l.endsWith(' 429 RL local_rate_limited')).length, 3);
});

/**
 * Keeps `concurrency` requests in flight against base + path for about durationMs (bounded in
 * count too) and counts the admitted ones; the interval is measured from before the first request
 * to after the last answer, so the bucket's expected admissions are max_tokens + rate x interval.
 * The proxy path is warmed up first on an unlimited route: a bucket that sits full while a cold
 * worker is slow to take its first requests loses refill, and that would be the test's error,
 * not the bucket's. The /rate bucket itself is made on its route's first request.
 */
async function hammer(base: (path: string) => string, durationMs: number, concurrency: number): Promise<{ admitted: number; limited: number; seconds: number }> {
  const agent = new Agent({ connections: concurrency });
  const run = async (url: string, ms: number, onStatus: (status: number) => void) => {
    let total = 0;
    const until = performance.now() + ms;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until && total < 200_000) {
          total++;
          const res = await request(url, { dispatcher: agent });
          await res.body.dump();
          onStatus(res.statusCode);
        }
      }),
    );
  };
  await run(base('/disabled'), 500, () => {});
  let admitted = 0;
  let limited = 0;
  const started = performance.now();
  await run(base('/rate'), durationMs, (status) => {
    if (status === 200) admitted++;
    else if (status === 429) limited++;
    else throw new Error(`unexpected status ${status}`);
  });
  const seconds = (performance.now() - started) / 1000;
  await agent.close();
  return { admitted, limited, seconds };
}

const within5 = (t: { ok(value: boolean, message: string): void }, got: { admitted: number; limited: number; seconds: number }, what: string) => {
  const expected = RATE.max_tokens + RATE_PER_S * got.seconds;
  const error = Math.abs(got.admitted - expected) / expected;
  t.ok(got.limited > got.admitted, `${what}: demand exceeded the rate (${got.limited} limited)`);
  t.ok(error <= 0.05, `${what}: ${got.admitted} admitted in ${got.seconds.toFixed(3)} s, expected ${expected.toFixed(1)} (${(error * 100).toFixed(1)} % off)`);
};

t.test('a bucket holds its rate within 5 %', async (t) => {
  within5(t, await hammer((path) => legate.url(path), 2000, 8), 'one process');
});

t.test('split across two workers, the buckets still hold the configured rate within 5 %', async (t) => {
  // One shared listening socket: connections are dealt to the workers in turn, so both buckets
  // see demand (with SO_REUSEPORT the kernel may hash every connection to one worker).
  const spawned = await spawnLegate(config, ['--workers', '2', '--no-reuse-port']);
  t.teardown(() => spawned.stop());
  const got = await hammer((path) => spawned.url(path), 2000, 8);
  within5(t, got, 'two workers');
  const stats = await statsMap(spawned.adminUrl(''));
  t.equal(stats.get('rate.http_local_rate_limit.ok'), got.admitted, 'both workers counted (stats merged)');
});
