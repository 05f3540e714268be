// Active health checks against real servers on loopback: Envoy's first-check, threshold and
// failure-type rules, the HTTP request it sends, TCP payloads, health_check_port, updates.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';
import type { Cluster } from '../../../proxy/config/model.ts';
import { Store } from '../../../proxy/stats/index.ts';
import { matches } from '../../../proxy/upstream/health-probe.ts';
import { checking } from '../../support/health-changes.ts';

function clusterWith(name: string, endpoints: { port: number; hcPort?: number }[], healthCheck: object): Cluster {
  const raw = {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    health_checks: [healthCheck],
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: endpoints.map((e) => ({
            endpoint: {
              address: { socket_address: { address: '127.0.0.1', port_value: e.port } },
              ...(e.hcPort !== undefined ? { health_check_config: { port_value: e.hcPort } } : {}),
            },
          })),
        },
      ],
    },
  };
  return translateBootstrap({ static_resources: { clusters: [raw] } }).clusters[0];
}

async function httpServer(handler: http.RequestListener) {
  const seen: http.IncomingHttpHeaders[] = [];
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    paths.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    paths,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const fastHttp = (path = '/healthz', extra: object = {}) => ({
  timeout: '1s',
  interval: '0.02s',
  unhealthy_threshold: 3,
  healthy_threshold: 2,
  http_health_check: { path, ...extra },
});

t.test('HTTP: failed until the first success; a wrong status fails at once; back after healthy_threshold', async (t) => {
  let status = 200;
  const server = await httpServer((_req, res) => {
    res.writeHead(status);
    res.end();
  });
  t.teardown(() => server.close());
  const store = new Store();
  const { manager, changes } = checking(t, store);
  const address = `127.0.0.1:${server.port}`;
  manager.update([clusterWith('web', [{ port: server.port }], fastHttp())]);
  t.same(manager.status(), [{ cluster: 'web', address, failed: true }], 'failed before the first check');

  t.same(await changes.next(), ['web', address, false], 'the first success makes it healthy at once');
  t.equal(server.paths[0], 'GET /healthz');
  t.equal(server.seen[0].host, 'web', 'Host is the cluster name when http_health_check.host is empty');
  t.equal(server.seen[0]['user-agent'], 'Envoy/HC');

  status = 503;
  const before = server.paths.length;
  t.same(await changes.next(), ['web', address, true], 'a 503 fails it');
  t.equal(server.paths.length - before, 1, 'without waiting for unhealthy_threshold');

  status = 200;
  const atFailure = server.paths.length;
  t.same(await changes.next(), ['web', address, false]);
  t.ok(server.paths.length - atFailure >= 2, 'healthy_threshold successes were needed');

  const snap = store.snapshot();
  t.ok(snap.counters['cluster.web.health_check.attempt'] >= 4);
  t.ok(snap.counters['cluster.web.health_check.failure'] >= 1);
  t.equal(snap.counters['cluster.web.health_check.network_failure'], 0);
  t.equal(snap.gauges['cluster.web.health_check.healthy'], 1);
});

t.test('HTTP: network failures need unhealthy_threshold in a row; method, host and expected_statuses', async (t) => {
  let reset = false;
  const server = await httpServer((req, res) => {
    if (reset) {
      req.socket.destroy();
      return;
    }
    res.writeHead(204);
    res.end();
  });
  t.teardown(() => server.close());
  const store = new Store();
  const { manager, changes } = checking(t, store);
  const check = fastHttp('/ready', { host: 'svc.local', method: 'HEAD', expected_statuses: [{ start: 200, end: 300 }] });
  manager.update([clusterWith('api', [{ port: server.port }], check)]);
  t.same((await changes.next())[2], false, '204 is within [200, 300)');
  t.equal(server.paths[0], 'HEAD /ready');
  t.equal(server.seen[0].host, 'svc.local');

  reset = true;
  const before = server.paths.length;
  t.same((await changes.next())[2], true);
  t.equal(server.paths.length - before, 3, 'three resets in a row');
  t.ok(store.snapshot().counters['cluster.api.health_check.network_failure'] >= 3);
});

t.test('HTTP: a check without an answer within timeout is a network failure', async (t) => {
  let hang = false;
  const server = await httpServer((_req, res) => {
    if (hang) return; // never answers
    res.end();
  });
  t.teardown(() => server.close());
  const { manager, changes } = checking(t);
  manager.update([clusterWith('slow', [{ port: server.port }], { ...fastHttp(), timeout: '0.05s', unhealthy_threshold: 1 })]);
  t.equal((await changes.next())[2], false);
  hang = true;
  t.equal((await changes.next())[2], true);
});

t.test('health_check_port: checks go to that port, the host keeps its address', async (t) => {
  const checkServer = await httpServer((_req, res) => res.end());
  t.teardown(() => checkServer.close());
  const { manager, changes } = checking(t);
  manager.update([clusterWith('p', [{ port: 1, hcPort: checkServer.port }], fastHttp())]);
  t.same(await changes.next(), ['p', '127.0.0.1:1', false]);
});

t.test('TCP: send and receive hex payloads; connect-only without receive', async (t) => {
  let answer = 'PONG';
  const got: string[] = [];
  const server = net.createServer((socket) => {
    socket.on('data', (d) => {
      got.push(d.toString());
      socket.write('xx' + answer + 'yy');
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  const { manager, changes } = checking(t);
  const tcp = (receive: object[]) => ({
    timeout: '0.1s',
    interval: '0.02s',
    unhealthy_threshold: 1,
    healthy_threshold: 1,
    tcp_health_check: { send: { text: Buffer.from('PING').toString('hex') }, receive },
  });
  manager.update([clusterWith('tcp', [{ port }], tcp([{ text: Buffer.from('PO').toString('hex') }, { text: Buffer.from('NG').toString('hex') }]))]);
  t.equal((await changes.next())[2], false);
  t.equal(got[0], 'PING');
  answer = 'NOPE';
  t.equal((await changes.next())[2], true, 'a payload never seen fails at the timeout');

  const closed = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  manager.update([clusterWith('tcp', [{ port }, { port: closed }], tcp([]))]);
  t.same(await changes.next(), ['tcp', `127.0.0.1:${port}`, false], 'connect-only succeeds on the live port');
  t.same(
    manager.status().find((s) => s.address === `127.0.0.1:${closed}`),
    { cluster: 'tcp', address: `127.0.0.1:${closed}`, failed: true },
    'the closed port stays failed',
  );
});

t.test('update keeps the state of hosts that stay and drops removed clusters', async (t) => {
  const a = await httpServer((_req, res) => res.end());
  const b = await httpServer((_req, res) => res.end());
  t.teardown(() => a.close());
  t.teardown(() => b.close());
  const { manager, changes } = checking(t);
  manager.update([clusterWith('web', [{ port: a.port }], fastHttp())]);
  t.same(await changes.next(), ['web', `127.0.0.1:${a.port}`, false]);
  manager.update([clusterWith('web', [{ port: a.port }, { port: b.port }], fastHttp())]);
  t.same(await changes.next(), ['web', `127.0.0.1:${b.port}`, false], 'only the new host changes');
  t.equal(manager.status().filter((s) => !s.failed).length, 2);
  manager.update([]);
  t.same(manager.status(), [], 'a cluster without health_checks has no sessions');
});

t.test('payload matching finds every block in order', async (t) => {
  const data = Buffer.from('abcdef');
  t.ok(matches([Buffer.from('ab'), Buffer.from('ef')], data));
  t.notOk(matches([Buffer.from('ef'), Buffer.from('ab')], data), 'order matters');
  t.notOk(matches([Buffer.from('abc'), Buffer.from('cd')], data), 'blocks do not overlap');
  t.ok(matches([], data));
});
