// The overload manager's global downstream connection limit: the N+1st connection is closed at
// once and counted (listener downstream_global_cx_overflow), a closed connection frees its place,
// a listener with ignore_global_conn_limit still accepts, and the admin listener counts unless it
// ignores the limit too. The older runtime key overload.global_downstream_max_connections sets
// the limit from a static layer and follows /runtime_modify.
import net from 'node:net';
import t from 'tap';
import { bootstrap, httpListener, routes } from '../../support/bootstrap.ts';
import { fetchText, statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';

const hello = routes([{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'hi' } } }]);
const limitMonitor = (max: number) => ({
  name: 'envoy.resource_monitors.global_downstream_max_connections',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig', max_active_downstream_connections: max },
});

interface Conn {
  socket: net.Socket;
  /** Resolves true when a response arrived, false when the connection closed without one. */
  answered: Promise<boolean>;
}

/** A keep-alive connection that sends one request. */
function connect(port: number, host = '127.0.0.1'): Conn {
  const socket = net.connect({ host, port });
  socket.on('error', () => undefined);
  const answered = new Promise<boolean>((resolve) => {
    socket.once('data', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
  socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  return { socket, answered };
}

function closeAll(conns: Conn[]): Promise<unknown> {
  return Promise.all(conns.map((c) => new Promise((resolve) => {
    if (c.socket.destroyed) return resolve(undefined);
    c.socket.once('close', resolve);
    c.socket.destroy();
  })));
}

t.test('the monitor refuses the N+1st connection, counts it, and frees places as connections close', async (t) => {
  // Listener stats are named by the configured address (port 0 here): a second address tells them apart.
  const free = { ...httpListener('free', hello), address: { socket_address: { address: '127.0.0.2', port_value: 0 } }, ignore_global_conn_limit: true };
  const legate = await startLegate(bootstrap([httpListener('limited', hello), free], [], {
    overload_manager: { refresh_interval: '0.05s', resource_monitors: [limitMonitor(3)] },
  }));
  const conns: Conn[] = [];
  t.teardown(async () => {
    await closeAll(conns);
    await legate.stop();
  });
  const limited = legate.port('limited');
  for (let i = 0; i < 3; i++) conns.push(connect(limited));
  t.same(await Promise.all(conns.map((c) => c.answered)), [true, true, true], 'three connections are served');
  // The admin counts too (Envoy's admin listener does unless it sets ignore_global_conn_limit).
  const admin = connect(legate.primary.admin!.address().port);
  t.equal(await admin.answered, false, 'the admin is refused while the limit is reached');
  const fourth = connect(limited);
  conns.push(fourth);
  t.equal(await fourth.answered, false, 'the fourth is closed without an answer');
  const viaFree = connect(legate.port('free'), '127.0.0.2');
  conns.push(viaFree);
  t.equal(await viaFree.answered, true, 'a listener with ignore_global_conn_limit still accepts');

  let refused = 1;
  await closeAll(conns.splice(0, 1));
  // The place is freed when Legate sees the close, a moment after the client does.
  await waitFor('a freed place', async () => {
    const c = connect(limited);
    conns.push(c);
    if (await c.answered) return true;
    refused++;
    return undefined;
  });
  t.pass('a closed connection frees its place');
  await closeAll(conns.splice(0));

  const stats = await waitFor('the admin, once the connections are gone', () => statsMap(legate.adminUrl('')).catch(() => undefined));
  t.equal(stats.get(`listener.127.0.0.1_0.downstream_global_cx_overflow`), refused, 'each refusal is counted on the listener');
  t.equal(stats.get(`listener.127.0.0.2_0.downstream_global_cx_overflow`), 0);
  t.equal(stats.get('overload.envoy.resource_monitors.global_downstream_max_connections.failed_updates'), 0);
});

t.test('the runtime key overload.global_downstream_max_connections sets the limit and follows /runtime_modify', async (t) => {
  const legate = await startLegate(bootstrap([httpListener('limited', hello)], [], {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, ignore_global_conn_limit: true },
    layered_runtime: {
      layers: [
        { name: 'static', static_layer: { overload: { global_downstream_max_connections: 1 } } },
        { name: 'admin', admin_layer: {} },
      ],
    },
  }));
  const conns: Conn[] = [];
  t.teardown(async () => {
    await closeAll(conns);
    await legate.stop();
  });
  const port = legate.port();
  conns.push(connect(port), connect(port));
  t.same(await Promise.all(conns.map((c) => c.answered)), [true, false], 'the static layer allows one connection');
  const runtime = JSON.parse((await fetchText(legate.adminUrl('/runtime'))).body) as { layers: string[]; entries: Record<string, { final_value: string }> };
  t.same(runtime.layers, ['static', 'admin']);
  t.equal(runtime.entries['overload.global_downstream_max_connections'].final_value, '1');

  const modified = await fetchText(legate.adminUrl('/runtime_modify?overload.global_downstream_max_connections=2'), { method: 'POST' });
  t.equal(modified.status, 200);
  const third = connect(port);
  conns.push(third);
  t.equal(await third.answered, true, 'the admin layer raises the limit at once');
  const fourth = connect(port);
  conns.push(fourth);
  t.equal(await fourth.answered, false, 'and the new limit holds');
});

t.test('--workers 2: each worker holds half the limit, never more than the limit in all; refusals merge in /stats', async (t) => {
  const { spawnLegate } = await import('../../support/legate-process.ts');
  const legate = await spawnLegate(bootstrap([httpListener('limited', hello)], [], {
    overload_manager: { resource_monitors: [limitMonitor(4)] },
  }), ['--workers', '2']);
  const conns: Conn[] = [];
  t.teardown(async () => {
    await closeAll(conns);
    await legate.stop();
  });
  // New connections spread over both workers' sockets (SO_REUSEPORT): each serves two, refuses the rest.
  for (let i = 0; i < 12; i++) conns.push(connect(legate.port()));
  const answered = (await Promise.all(conns.map((c) => c.answered))).filter(Boolean).length;
  t.ok(answered <= 4, `${answered} served: never more than the limit`);
  t.ok(answered >= 2, 'each worker serves its share');
  const stats = await statsMap(legate.adminUrl(''));
  // The primary reserves the port for the workers, so the listener's stats carry it.
  t.equal(stats.get(`listener.127.0.0.1_${legate.port()}.downstream_global_cx_overflow`), 12 - answered, 'the workers\' refusals add up');
});
