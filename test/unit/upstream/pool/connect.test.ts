// The one upstream connect: Envoy's connection counts, the exact connect_timeout, outlier
// local-origin results, and cancel.
import net from 'node:net';
import t from 'tap';
import type { Cluster } from '../../../../proxy/config/model.ts';
import { connect, type ConnectFailureReason, type PoolCluster } from '../../../../proxy/upstream/index.ts';
import type { OutlierDetector } from '../../../../proxy/upstream/outlier.ts';
import { clusterSetup, fakeCodecs, LineUpstream, neverConnects, refusedPort, waitFor } from './support.ts';

/** The cluster's parts, with an outlier detector that records what it is told. */
function withOutlier(t: Parameters<typeof clusterSetup>[0], port: number, model: Partial<Cluster> = {}) {
  const setup = clusterSetup(t, [port], { codec: fakeCodecs().factory, model });
  const results: string[] = [];
  const outlier = { putLocalOrigin: (address: string, result: string) => results.push(`${address} ${result}`) } as unknown as OutlierDetector;
  const cluster: PoolCluster = { config: setup.cluster.config, stats: setup.cluster.stats, breaker: setup.cluster.breaker, outlier };
  return { ...setup, pc: cluster, host: setup.cluster.hosts[0], results };
}

function outcome() {
  let resolve!: (v: { socket?: net.Socket; reason?: ConnectFailureReason; details?: string }) => void;
  const done = new Promise<{ socket?: net.Socket; reason?: ConnectFailureReason; details?: string }>((r) => (resolve = r));
  const callbacks = {
    calls: 0,
    onConnect(socket: net.Socket) {
      callbacks.calls++;
      resolve({ socket });
    },
    onConnectFailure(reason: ConnectFailureReason, details: string) {
      callbacks.calls++;
      resolve({ reason, details });
    },
  };
  return { callbacks, done };
}

t.test('a connect counts the connection until its socket closes, and reports success', async (t) => {
  const upstream = await LineUpstream.start(t);
  const s = withOutlier(t, upstream.port);
  const { callbacks, done } = outcome();
  const attempt = connect(s.pc, s.host, callbacks);
  t.equal(s.counter('upstream_cx_total'), 1, 'counted when it starts, as Envoy');
  t.equal(s.gauge('upstream_cx_active'), 1);
  t.equal(s.gauge('circuit_breakers.default.cx_open'), 0);
  const { socket } = await done;
  t.equal(socket, attempt.socket);
  t.equal(socket!.remotePort, upstream.port);
  t.same(s.results, [`${s.host.address} connect-success`]);
  t.equal(s.host.stats.cxActive, 1);
  await new Promise<void>((resolve) => {
    socket!.once('close', () => resolve());
    socket!.destroy();
  });
  t.equal(s.gauge('upstream_cx_active'), 0);
  t.equal(s.counter('upstream_cx_destroy'), 1);
  t.equal(s.host.stats.cxActive, 0);
  t.equal(callbacks.calls, 1);
});

t.test('refused: connection-failure with the error, counted, and told to outlier detection', async (t) => {
  const port = await refusedPort();
  const s = withOutlier(t, port);
  const { callbacks, done } = outcome();
  connect(s.pc, s.host, callbacks);
  const { reason, details } = await done;
  t.equal(reason, 'connection-failure');
  t.match(details, /ECONNREFUSED/);
  t.equal(s.counter('upstream_cx_connect_fail'), 1);
  t.equal(s.counter('upstream_cx_connect_timeout'), 0);
  t.equal(s.host.stats.cxConnectFail, 1);
  t.same(s.results, [`${s.host.address} connect-failed`]);
});

t.test('connect_timeout: an exact timer, then timeout (and no late error callback)', async (t) => {
  const s = withOutlier(t, 1, { connectTimeoutMs: 40 });
  const { callbacks, done } = outcome();
  const started = performance.now();
  const attempt = connect(s.pc, s.host, callbacks, { openSocket: neverConnects });
  const { reason } = await done;
  const elapsed = performance.now() - started;
  t.equal(reason, 'timeout');
  t.ok(elapsed >= 35 && elapsed < 1000, `after about 40 ms (${elapsed.toFixed(0)})`);
  t.equal(s.counter('upstream_cx_connect_timeout'), 1);
  t.equal(s.counter('upstream_cx_connect_fail'), 1);
  t.same(s.results, [`${s.host.address} timeout`]);
  await waitFor('the socket closed', () => s.gauge('upstream_cx_active') === 0);
  t.ok(attempt.socket.destroyed);
  t.equal(callbacks.calls, 1);
});

t.test('cancel: the socket is destroyed, nobody is called, no failure is counted', async (t) => {
  const s = withOutlier(t, 1);
  const { callbacks } = outcome();
  const attempt = connect(s.pc, s.host, callbacks, { openSocket: neverConnects });
  attempt.cancel();
  attempt.cancel();
  await new Promise((resolve) => attempt.socket.once('close', resolve));
  t.equal(callbacks.calls, 0);
  t.equal(s.counter('upstream_cx_connect_fail'), 0);
  t.equal(s.gauge('upstream_cx_active'), 0);
  t.same(s.results, []);
});

t.test('upstream_bind_config: the source address is the cluster\'s', async (t) => {
  const upstream = await LineUpstream.start(t);
  const s = withOutlier(t, upstream.port, { upstreamBindAddress: '127.0.0.2' });
  const { callbacks, done } = outcome();
  connect(s.pc, s.host, callbacks);
  const { socket, details } = await done;
  if (socket === undefined) {
    t.comment(`skipped: 127.0.0.2 is not usable here (${details})`);
    return;
  }
  t.equal(socket.localAddress, '127.0.0.2');
  socket.destroy();
});
