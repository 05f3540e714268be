// WebSocket through the HTTP connection manager's upgrade_configs, with real ws clients and
// servers: echo, a 16 MiB message, close codes both ways, what the upstream saw, a route that
// disables the upgrade (403 and downstream_rq_ws_on_non_ws_route), an upstream that refuses it,
// and an h2c upgrade that Envoy serves as plain HTTP/1.1.
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import WebSocket, { WebSocketServer } from 'ws';
import { bootstrap, fileAccessLog, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { nodeRequest, statsMap, waitForLines } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'legate-ws-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const logPath = join(dir, 'access.log');

// Echoes every message; on 'close me <code>' closes with that code; records handshake headers and close codes.
const handshakes: IncomingHttpHeaders[] = [];
const closeEvents = new EventEmitter();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 * 1024 });
await once(wss, 'listening');
t.teardown(() => new Promise<void>((resolve) => {
  for (const c of wss.clients) c.terminate();
  wss.close(() => resolve());
}));
wss.on('connection', (ws, req) => {
  handshakes.push(req.headers);
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? '' : data.toString();
    if (text.startsWith('close me ')) ws.close(Number(text.slice(9)), 'as asked');
    else ws.send(data, { binary: isBinary });
  });
  ws.on('close', (code, reason) => closeEvents.emit('close', { code, reason: reason.toString() }));
});
const wsPort = (wss.address() as AddressInfo).port;

// An HTTP server that is not a websocket server: it answers an upgrade request with a plain 404.
const plain = await startUpstream('plain');
t.teardown(() => plain.close());

const routeConfig = routes([
  { match: { prefix: '/off' }, route: { cluster: 'ws', upgrade_configs: [{ upgrade_type: 'websocket', enabled: false }] } },
  { match: { prefix: '/plain' }, route: { cluster: 'plain' } },
  { match: { prefix: '/' }, route: { cluster: 'ws', timeout: '1s' } },
]);
const legate = await startLegate(
  bootstrap(
    [
      httpListener('ws', routeConfig, { upgrade_configs: [{ upgrade_type: 'websocket' }], access_log: [fileAccessLog(logPath, '%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %UPSTREAM_HOST% %RESPONSE_CODE_DETAILS%\n')] }),
      httpListener('no_ws', routeConfig),
    ],
    [staticCluster('ws', [{ port: wsPort }]), staticCluster('plain', [{ port: plain.port }])],
  ),
);
t.teardown(() => legate.stop());
const stats = () => statsMap(legate.adminUrl(''));

/** An open client, or the error its handshake ended with. */
async function open(path: string, listener = 'ws', options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${legate.port(listener)}${path}`, { maxPayload: 64 * 1024 * 1024, ...options });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return ws;
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })));
}

t.test('echo through the upgrade; the route timeout does not cut the tunnel', async (t) => {
  const ws = await open('/echo?x=1');
  t.teardown(() => ws.terminate());
  for (let i = 0; i < 3; i++) {
    const reply = nextMessage(ws);
    ws.send(`hello ${i}`);
    t.equal((await reply).data.toString(), `hello ${i}`);
  }
  const seen = handshakes[handshakes.length - 1];
  t.equal(seen.upgrade, 'websocket');
  t.match(seen.connection, /upgrade/i);
  t.ok(seen['sec-websocket-key'], 'the handshake headers went through');
  t.equal(seen['x-forwarded-proto'], 'http');
  t.ok(seen['x-request-id'], 'a request id was added');
  // The route's 1 s timeout is for requests; a websocket outlives it.
  await new Promise((resolve) => setTimeout(resolve, 1200));
  const reply = nextMessage(ws);
  ws.send('still here');
  t.equal((await reply).data.toString(), 'still here');
  const s = await stats();
  t.equal(s.get('http.ws.downstream_cx_upgrades_active'), 1);
  t.ok((s.get('http.ws.downstream_cx_upgrades_total') ?? 0) >= 1);
});

t.test('a 16 MiB binary message each way', async (t) => {
  const ws = await open('/big');
  t.teardown(() => ws.terminate());
  const payload = randomBytes(16 * 1024 * 1024);
  const reply = nextMessage(ws);
  ws.send(payload);
  const got = await reply;
  t.equal(got.isBinary, true);
  t.equal(got.data.length, payload.length);
  t.equal(createHash('sha256').update(got.data).digest('hex'), createHash('sha256').update(payload).digest('hex'), 'unchanged');
});

t.test('close codes pass through both ways', async (t) => {
  const ws = await open('/close');
  const closing = once(ws, 'close') as Promise<[number, Buffer]>;
  const serverClosed = once(closeEvents, 'close') as Promise<[{ code: number; reason: string }]>;
  ws.close(4001, 'client bye');
  const [code] = await closing;
  t.equal(code, 4001, 'the server echoed the close code');
  t.same((await serverClosed)[0], { code: 4001, reason: 'client bye' }, 'the server got the client code');

  const ws2 = await open('/close');
  const closing2 = once(ws2, 'close') as Promise<[number, Buffer]>;
  ws2.send('close me 4002');
  const [code2, reason2] = await closing2;
  t.equal(code2, 4002, 'the client got the server code');
  t.equal(reason2.toString(), 'as asked');
});

t.test('the access log records the 101 and the bytes of the tunnel', async (t) => {
  const lines = await waitForLines(logPath, 3);
  const upgraded = lines.filter((l) => l.startsWith('101 '));
  t.ok(upgraded.length >= 3, 'each closed websocket logged a line with 101');
  const [, flags, received, sent, host, details] = upgraded[upgraded.length - 1].split(' ');
  t.equal(flags, '-');
  t.ok(Number(received) > 0 && Number(sent) > 0);
  t.equal(host, `127.0.0.1:${wsPort}`);
  t.equal(details, 'via_upstream');
});

t.test('a route that disables websocket answers 403 and counts downstream_rq_ws_on_non_ws_route', async (t) => {
  const err = await open('/off').then((ws) => ws.terminate(), (e: Error) => e);
  t.match(String(err), /403/);
  const err2 = await open('/', 'no_ws').then((ws) => ws.terminate(), (e: Error) => e);
  t.match(String(err2), /403/, 'no upgrade_configs on the HCM: 403 too');
  const s = await stats();
  t.equal(s.get('http.ws.downstream_rq_ws_on_non_ws_route'), 1);
  t.equal(s.get('http.no_ws.downstream_rq_ws_on_non_ws_route'), 1);
});

t.test('an upstream that does not upgrade: its answer is relayed', async (t) => {
  const err = await open('/plain').then((ws) => ws.terminate(), (e: Error) => e);
  t.match(String(err), /Unexpected server response: 200/);
});

t.test('an h2c upgrade is served as plain HTTP/1.1, as Envoy does', async (t) => {
  const reply = await nodeRequest(`http://127.0.0.1:${legate.port('ws')}/plain/h2c`, { headers: { connection: 'upgrade, http2-settings', upgrade: 'h2c', 'http2-settings': 'AAMAAABkAAQAAP__' } });
  t.equal(reply.status, 200);
  const seen = await plain.waitFor('/plain/h2c');
  t.equal(seen.headers.upgrade, undefined, 'the upgrade headers were removed');
});
