// Overload actions on connections, driven by the global connection monitor's pressure (active
// downstream connections / max_active_downstream_connections, read every refresh_interval):
// reduce_timeouts shortens the connection idle timeout, reject_incoming_connections closes new
// connections at once, stop_accepting_connections stops accepting until the pressure falls.
import net from 'node:net';
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

const hello = routes([{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'hi' } } }]);
const MONITOR = 'envoy.resource_monitors.global_downstream_max_connections';

/** Legate with one listener, a connection monitor of 100 and one action at `threshold` (connections / 100). */
function withAction(action: string, threshold: number, hcmExtra: object = {}, typedConfig?: object) {
  return bootstrap([httpListener('l', hello, hcmExtra)], [], {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, ignore_global_conn_limit: true },
    overload_manager: {
      refresh_interval: '0.02s',
      resource_monitors: [{ name: MONITOR, typed_config: { '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig', max_active_downstream_connections: 100 } }],
      actions: [{ name: action, triggers: [{ name: MONITOR, threshold: { value: threshold } }], ...(typedConfig === undefined ? {} : { typed_config: typedConfig }) }],
    },
  });
}

interface Conn {
  socket: net.Socket;
  answered: Promise<boolean>; // a response came (else it closed first)
  closed: Promise<void>;
}

function connect(port: number): Conn {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const answered = new Promise<boolean>((resolve) => {
    socket.once('data', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
  socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  return { socket, answered, closed };
}

async function closeAll(conns: Conn[]): Promise<void> {
  for (const c of conns) c.socket.destroy();
  await Promise.all(conns.map((c) => c.closed));
}

const active = async (adminUrl: string, action: string) => (await statsMap(adminUrl)).get(`overload.${action}.active`);

t.test('reduce_timeouts: under pressure an idle connection closes at min_timeout, not idle_timeout', async (t) => {
  const action = 'envoy.overload_actions.reduce_timeouts';
  const legate = await startLegate(withAction(action, 0.02, { common_http_protocol_options: { idle_timeout: '60s' } }, {
    '@type': 'type.googleapis.com/envoy.config.overload.v3.ScaleTimersOverloadActionConfig',
    timer_scale_factors: [{ timer: 'HTTP_DOWNSTREAM_CONNECTION_IDLE', min_timeout: '0.1s' }],
  }));
  const conns: Conn[] = [];
  t.teardown(async () => {
    await closeAll(conns);
    await legate.stop();
  });
  const first = connect(legate.port());
  conns.push(first);
  t.equal(await first.answered, true);
  t.equal(await active(legate.adminUrl(''), action), 0, 'one connection: no pressure');
  const second = connect(legate.port());
  conns.push(second);
  t.equal(await second.answered, true);
  const started = performance.now();
  await Promise.all([first.closed, second.closed]);
  t.ok(performance.now() - started < 5000, 'both idle connections closed within seconds of a 60 s idle timeout');
});

t.test('reduce_timeouts: under pressure a stream idles out at min_timeout, not stream_idle_timeout', async (t) => {
  const action = 'envoy.overload_actions.reduce_timeouts';
  const upstream = await startUpstream('hang', (req) => req.resume()); // never answers
  t.teardown(() => upstream.close());
  const config = withAction(action, 0.02, { stream_idle_timeout: '60s' }, {
    '@type': 'type.googleapis.com/envoy.config.overload.v3.ScaleTimersOverloadActionConfig',
    timer_scale_factors: [{ timer: 'HTTP_DOWNSTREAM_STREAM_IDLE', min_timeout: '0.2s' }],
  });
  const hcm = (config.static_resources.listeners[0] as { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] }).filter_chains[0].filters[0].typed_config;
  hcm.route_config = routes([
    { match: { prefix: '/hang' }, route: { cluster: 'hang', timeout: '0s' } },
    { match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'hi' } } },
  ]);
  const legate = await startLegate({ ...config, static_resources: { ...config.static_resources, clusters: [staticCluster('hang', [{ port: upstream.port }])] } });
  const conns: Conn[] = [];
  t.teardown(async () => {
    await closeAll(conns);
    await legate.stop();
  });
  conns.push(connect(legate.port()), connect(legate.port()));
  t.same(await Promise.all(conns.map((c) => c.answered)), [true, true]);
  await waitFor('the action', async () => ((await active(legate.adminUrl(''), action)) === 1 ? true : undefined));
  const socket = conns[0].socket;
  let reply = '';
  socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
  const started = performance.now();
  socket.write('GET /hang HTTP/1.1\r\nhost: x\r\n\r\n');
  await waitFor('the stream idle timeout', () => (reply.includes('408') ? true : undefined), 5000);
  t.ok(performance.now() - started < 5000, 'timed out within seconds of a 60 s stream_idle_timeout');
  t.match(reply, /stream timeout/);
});

t.test('reject_incoming_connections: new connections are closed at once and counted', async (t) => {
  const action = 'envoy.overload_actions.reject_incoming_connections';
  const legate = await startLegate(withAction(action, 0.03));
  const conns: Conn[] = [];
  t.teardown(async () => {
    await closeAll(conns);
    await legate.stop();
  });
  for (let i = 0; i < 3; i++) conns.push(connect(legate.port()));
  t.same(await Promise.all(conns.map((c) => c.answered)), [true, true, true]);
  await waitFor('the action', async () => ((await active(legate.adminUrl(''), action)) === 1 ? true : undefined));
  const rejected = connect(legate.port());
  conns.push(rejected);
  t.equal(await rejected.answered, false, 'accepted and closed without an answer');
  t.equal((await statsMap(legate.adminUrl(''))).get('listener.127.0.0.1_0.downstream_cx_overload_reject'), 1);
  await closeAll(conns.splice(0));
  await waitFor('the action to clear', async () => ((await active(legate.adminUrl(''), action)) === 0 ? true : undefined));
  const again = connect(legate.port());
  conns.push(again);
  t.equal(await again.answered, true, 'served again once the pressure is gone');
});

t.test('stop_accepting_connections: the listener stops accepting and resumes on the same port', async (t) => {
  const action = 'envoy.overload_actions.stop_accepting_connections';
  const legate = await startLegate(withAction(action, 0.02));
  const conns: Conn[] = [];
  t.teardown(async () => {
    await closeAll(conns);
    await legate.stop();
  });
  const port = legate.port();
  conns.push(connect(port), connect(port));
  t.same(await Promise.all(conns.map((c) => c.answered)), [true, true]);
  await waitFor('the action', async () => ((await active(legate.adminUrl(''), action)) === 1 ? true : undefined));
  const refused = connect(port);
  t.equal(await refused.answered, false, 'a new connection is not served');
  await closeAll(conns.splice(0));
  const served = await waitFor('accepting again', async () => {
    const c = connect(port);
    conns.push(c);
    return (await c.answered) ? true : undefined;
  });
  t.ok(served, 'served on the same port once the pressure is gone');
});
