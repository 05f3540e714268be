// HTTP CONNECT through the connection manager (upgrade_configs CONNECT, routes with
// connect_matcher): terminated by Legate when the route has connect_config (200, then raw TCP to
// the cluster), or proxied to an upstream HTTP proxy that answers the CONNECT itself; refused with
// 403 where CONNECT is not enabled.
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import t from 'tap';
import { bootstrap, httpListener, staticCluster } from '../../support/bootstrap.ts';
import { statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startEchoServer } from './support.ts';

const echo = await startEchoServer();
t.teardown(() => echo.close());

// An HTTP proxy upstream: CONNECT to allowed.test is tunnelled to the echo server, anything else refused.
const proxySeen: string[] = [];
const proxy = http.createServer((_req, res) => res.end('not a proxy request'));
proxy.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
  proxySeen.push(req.url ?? '');
  socket.on('error', () => {});
  if (req.url !== 'allowed.test:443') {
    socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  const target = net.connect({ host: '127.0.0.1', port: echo.port }, () => {
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    target.write(head);
    target.pipe(socket).pipe(target);
  });
  target.on('error', () => socket.destroy());
});
proxy.listen(0, '127.0.0.1');
await once(proxy, 'listening');
t.teardown(() => {
  proxy.closeAllConnections();
  proxy.close();
});

const routeConfig = {
  name: 'connect',
  virtual_hosts: [
    {
      name: 'terminate',
      domains: ['terminate.test:443'],
      routes: [{ match: { connect_matcher: {} }, route: { cluster: 'echo', upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } }],
    },
    {
      name: 'via_proxy',
      domains: ['*'],
      routes: [
        { match: { connect_matcher: {} }, route: { cluster: 'proxy' } },
        { match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'plain' } } },
      ],
    },
  ],
};
const legate = await startLegate(
  bootstrap(
    [httpListener('connect', routeConfig, { upgrade_configs: [{ upgrade_type: 'CONNECT' }] }), httpListener('no_connect', routeConfig)],
    [staticCluster('echo', [{ port: echo.port }]), staticCluster('proxy', [{ port: (proxy.address() as AddressInfo).port }])],
  ),
);
t.teardown(() => legate.stop());

/** Sends CONNECT authority; resolves with the status and, on 2xx, the tunnel socket. */
function connectThrough(listener: string, authority: string): Promise<{ status: number; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: legate.port(listener), method: 'CONNECT', path: authority, agent: false });
    req.once('connect', (res: http.IncomingMessage, socket: net.Socket) => resolve({ status: res.statusCode ?? 0, socket }));
    req.once('response', (res: http.IncomingMessage) => resolve({ status: res.statusCode ?? 0, socket: res.socket as net.Socket }));
    req.once('error', reject);
    req.end();
  });
}

async function roundTrip(socket: net.Socket, text: string): Promise<string> {
  const reply = once(socket, 'data') as Promise<[Buffer]>;
  socket.write(text);
  return (await reply)[0].toString();
}

t.test('connect_config: Legate answers 200 and relays raw TCP to the cluster', async (t) => {
  const { status, socket } = await connectThrough('connect', 'terminate.test:443');
  t.teardown(() => socket.destroy());
  t.equal(status, 200);
  t.equal(await roundTrip(socket, 'ping over CONNECT'), 'ping over CONNECT');
  t.notOk(proxySeen.includes('terminate.test:443'), 'no HTTP proxy was involved');
});

t.test('without connect_config the CONNECT goes to the upstream proxy, which answers it', async (t) => {
  const { status, socket } = await connectThrough('connect', 'allowed.test:443');
  t.teardown(() => socket.destroy());
  t.equal(status, 200);
  t.equal(await roundTrip(socket, 'via the proxy'), 'via the proxy');
  t.ok(proxySeen.includes('allowed.test:443'), 'the proxy saw the CONNECT target');
});

t.test("the upstream proxy's refusal is relayed", async (t) => {
  const { status, socket } = await connectThrough('connect', 'denied.test:443');
  socket.destroy();
  t.equal(status, 403);
});

t.test('CONNECT where no upgrade config enables it: 403; a route that enables it overrides the HCM', async (t) => {
  const refused = await connectThrough('no_connect', 'allowed.test:443');
  refused.socket.destroy();
  t.equal(refused.status, 403);
  t.equal((await statsMap(legate.adminUrl(''))).get('http.no_connect.downstream_rq_ws_on_non_ws_route'), 1);
  const enabled = await connectThrough('no_connect', 'terminate.test:443');
  t.teardown(() => enabled.socket.destroy());
  t.equal(enabled.status, 200, "the route's upgrade_configs enable CONNECT on an HCM without any");
  t.equal(await roundTrip(enabled.socket, 'ping'), 'ping');
});
