// POST /healthcheck/fail and /healthcheck/ok with `legate run --workers 2`: once /healthcheck/fail
// answers, every worker's health check filter answers 503 and every response (health check or
// not) carries x-envoy-immediate-health-check-fail and closes its connection; /ready and
// /server_info say DRAINING; a worker started while failing fails too; /healthcheck/ok undoes it.
// New connections spread over both workers' sockets (SO_REUSEPORT): 20 of them reach both.
import t from 'tap';
import { bootstrap, httpListener, ROUTER_TYPE, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchJson, fetchText, rawExchange, statsMap, waitFor } from '../../support/http.ts';
import { spawnLegate } from '../../support/legate-process.ts';
import { startUpstream } from '../../support/upstream.ts';

const HEALTH_CHECK_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck';
const CONNECTIONS = 20;

interface RawReply {
  status: string;
  headers: Map<string, string>;
}

// A request on its own connection; without `close` it is keep-alive, and rawExchange resolves
// only when Legate closes the connection.
async function exchange(port: number, path: string, close = false): Promise<RawReply> {
  const text = await rawExchange(port, `GET ${path} HTTP/1.1\r\nhost: x\r\n${close ? 'connection: close\r\n' : ''}\r\n`);
  const [head] = text.split('\r\n\r\n');
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: statusLine.split(' ')[1], headers };
}

interface ServerInfo {
  state: string;
  memory: { workers: { pid?: number; applied_snapshot_version?: number }[] };
}

t.test('/healthcheck/fail reaches every worker, and a worker started later; /healthcheck/ok restores', async (t) => {
  const upstream = await startUpstream('backend');
  t.teardown(() => upstream.close());
  const config = bootstrap([httpListener('l', routes([{ match: { prefix: '/' }, route: { cluster: 'backend' } }]), {
    http_filters: [
      { name: 'envoy.filters.http.health_check', typed_config: { '@type': HEALTH_CHECK_TYPE, pass_through_mode: false, headers: [{ name: ':path', string_match: { exact: '/healthz' } }] } },
      { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
    ],
  })], [staticCluster('backend', [{ port: upstream.port }])]);
  const legate = await spawnLegate(config, ['--workers', '2']);
  t.teardown(() => legate.stop('SIGKILL'));
  const port = legate.port();
  const admin = (path: string, method = 'POST') => fetchText(legate.adminUrl(path), { method });
  // While passing, connections stay open: these requests say close so the exchange ends.
  const healthChecks = async () => {
    const replies: RawReply[] = [];
    for (let i = 0; i < CONNECTIONS; i++) replies.push(await exchange(port, '/healthz', true));
    t.notOk(replies.some((r) => r.headers.has('x-envoy-immediate-health-check-fail')));
    return new Set(replies.map((r) => r.status));
  };
  const failingHealthChecks = async () => {
    const replies: RawReply[] = [];
    for (let i = 0; i < CONNECTIONS; i++) replies.push(await exchange(port, '/healthz'));
    return replies;
  };

  t.same(await healthChecks(), new Set(['200']), 'passing before');
  t.equal((await admin('/healthcheck/fail', 'GET')).status, 405, 'POST only');
  const failed = await admin('/healthcheck/fail');
  t.equal(failed.status, 200);
  t.equal(failed.body, 'OK\n');

  const replies = await failingHealthChecks();
  t.same(new Set(replies.map((r) => r.status)), new Set(['503']), 'no worker passes a health check');
  t.ok(replies.every((r) => r.headers.get('x-envoy-immediate-health-check-fail') === 'true'), 'x-envoy-immediate-health-check-fail on every answer');
  t.ok(replies.every((r) => r.headers.get('connection') === 'close'), 'and the connection closes');
  const other = await exchange(port, '/other');
  t.equal(other.status, '200', 'other requests are still served');
  t.equal(other.headers.get('x-envoy-immediate-health-check-fail'), 'true', 'and told that this server is failing');
  t.equal(other.headers.get('connection'), 'close');
  t.equal(upstream.seen.filter((r) => r.url === '/healthz').length, 0, 'health checks never reach the upstream');

  const ready = await admin('/ready', 'GET');
  t.equal(ready.status, 503);
  t.equal(ready.body, 'DRAINING\n');
  t.equal((await fetchJson<ServerInfo>(legate.adminUrl('/server_info'))).state, 'DRAINING');
  t.equal((await statsMap(legate.adminUrl(''))).get('server.live'), 0);

  // A worker that dies while failing is replaced by one that fails from its first request.
  const before = await fetchJson<ServerInfo>(legate.adminUrl('/server_info'));
  const pids = before.memory.workers.map((w) => w.pid!);
  process.kill(pids[0], 'SIGKILL');
  await waitFor('a replacement worker serving', async () => {
    const info = await fetchJson<ServerInfo>(legate.adminUrl('/server_info'));
    const workers = info.memory.workers;
    return workers.length === 2 && workers.every((w) => w.pid !== undefined && w.pid !== pids[0] && (w.applied_snapshot_version ?? 0) > 0) ? true : undefined;
  }, 15_000, 50);
  t.same(new Set((await failingHealthChecks()).map((r) => r.status)), new Set(['503']), 'the new worker fails health checks too');

  t.equal((await admin('/healthcheck/ok')).status, 200);
  t.same(await healthChecks(), new Set(['200']), 'every worker passes again');
  t.equal((await admin('/ready', 'GET')).body, 'LIVE\n');
  t.equal((await statsMap(legate.adminUrl(''))).get('server.live'), 1);
});
