// Back-pressure through tcp_proxy, both ways, and through a websocket tunnel: 1 GiB to a slow
// client (512 MiB to a slow upstream and through the websocket) from a fast sender through a Legate child process (`legate run`)
// whose resident memory is sampled from /proc during the transfer. Without back-pressure Legate would hold most of what the reader has not taken yet;
// with it, RSS grows only by the garbage of chunks in flight (about 80 MiB over an idle process
// of about 150 MiB here).
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import WebSocket, { WebSocketServer } from 'ws';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { statsMap } from '../../support/http.ts';
import { spawnLegate, type LegateProcess } from '../../support/legate-process.ts';
import { startTcpServer, tcpListener } from './support.ts';

const MiB = 1024 * 1024;
const TOTAL = 1024 * MiB;
const UPLOAD_TOTAL = 512 * MiB;
const GROWTH_LIMIT = 150 * MiB;
const CHUNK = Buffer.alloc(MiB, 'legate back-pressure ');

/** Writes total bytes as fast as the socket takes them, then ends. */
async function sendAll(socket: net.Socket, total: number): Promise<void> {
  for (let sent = 0; sent < total && !socket.destroyed; sent += CHUNK.length) {
    if (!socket.write(CHUNK)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  socket.end();
}

// A socket, or a websocket with its own event names.
interface Readable {
  on(event: string, listener: (chunk: Buffer) => void): unknown;
  once(event: string, listener: (error: Error) => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

/**
 * Reads at most about 200 MiB/s (a 10 ms pause after every 2 MiB) until the peer ends; resolves
 * with the byte count.
 */
function readSlowly(source: Readable, events = { data: 'data', end: 'end' }): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = 0;
    let sincePause = 0;
    source.on(events.data, (chunk: Buffer) => {
      received += chunk.length;
      sincePause += chunk.length;
      if (sincePause >= 2 * MiB) {
        sincePause = 0;
        source.pause();
        setTimeout(() => source.resume(), 10);
      }
    });
    source.once(events.end, () => resolve(received));
    source.once('error', reject);
  });
}

/** Samples the process's RSS every 20 ms until stopped; returns the peak and its growth over the idle process. */
function sampleRss(legate: LegateProcess): { stop(): { peak: number; growth: number } } {
  let peak = legate.rssBytes();
  const timer = setInterval(() => (peak = Math.max(peak, legate.rssBytes())), 20);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, legate.rssBytes());
      return { peak, growth: peak - idleRss };
    },
  };
}

function assertBounded(t: Test, { peak, growth }: { peak: number; growth: number }): void {
  const figures = `peak ${(peak / MiB).toFixed(0)} MiB, growth ${(growth / MiB).toFixed(0)} MiB`;
  t.ok(growth < GROWTH_LIMIT, `legate RSS grew by less than ${GROWTH_LIMIT / MiB} MiB relayed (${figures})`);
}

let uploadReceived: Promise<number> = Promise.resolve(0);
const source = await startTcpServer((socket) => void sendAll(socket, TOTAL));
t.teardown(() => source.close());
const sink = await startTcpServer((socket) => {
  uploadReceived = readSlowly(socket);
  void uploadReceived.then(() => socket.end());
});
t.teardown(() => sink.close());

// Sends WS_TOTAL bytes in 1 MiB messages, each once the previous one was written to the socket.
const WS_TOTAL = 512 * MiB;
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
await once(wss, 'listening');
t.teardown(() => new Promise<void>((resolve) => {
  for (const c of wss.clients) c.terminate();
  wss.close(() => resolve());
}));
wss.on('connection', async (ws) => {
  for (let sent = 0; sent < WS_TOTAL && ws.readyState === WebSocket.OPEN; sent += CHUNK.length) {
    await new Promise((resolve) => ws.send(CHUNK, { binary: true }, resolve));
  }
  ws.close(1000, 'done');
});

const legate = await spawnLegate(
  bootstrap(
    [
      tcpListener('download', 'source'),
      tcpListener('upload', 'sink'),
      httpListener('ws', routes([{ match: { prefix: '/' }, route: { cluster: 'ws' } }]), { upgrade_configs: [{ upgrade_type: 'websocket' }] }),
    ],
    [
      staticCluster('source', [{ port: source.port }]),
      staticCluster('sink', [{ port: sink.port }]),
      staticCluster('ws', [{ port: (wss.address() as AddressInfo).port }]),
    ],
  ),
);
t.teardown(() => legate.stop('SIGKILL'));
const idleRss = legate.rssBytes();

t.test('1 GiB to a slow downstream reader: the upstream is paused, memory stays bounded', async (t) => {
  const client = net.connect({ host: '127.0.0.1', port: legate.port('download') });
  t.teardown(() => client.destroy());
  const sampler = sampleRss(legate);
  const received = await readSlowly(client);
  const rss = sampler.stop();
  t.equal(received, TOTAL, 'every byte arrived');
  assertBounded(t, rss);
  const stats = await statsMap(legate.adminUrl(''));
  t.ok((stats.get('cluster.source.upstream_flow_control_paused_reading_total') ?? 0) > 0, 'reading from the upstream was paused');
  t.equal(stats.get('tcp.download.downstream_cx_tx_bytes_total'), TOTAL);
});

t.test('512 MiB from a fast client to a slow upstream reader: the client is paused, memory stays bounded', async (t) => {
  const client = net.connect({ host: '127.0.0.1', port: legate.port('upload') });
  t.teardown(() => client.destroy());
  client.resume();
  const sampler = sampleRss(legate);
  await sendAll(client, UPLOAD_TOTAL);
  await new Promise<void>((resolve) => client.once('end', resolve));
  const rss = sampler.stop();
  t.equal(await uploadReceived, UPLOAD_TOTAL, 'every byte arrived');
  assertBounded(t, rss);
  const stats = await statsMap(legate.adminUrl(''));
  t.ok((stats.get('tcp.upload.downstream_flow_control_paused_reading_total') ?? 0) > 0, 'reading from the client was paused');
  t.ok((stats.get('cluster.sink.upstream_flow_control_backed_up_total') ?? 0) > 0, 'because the upstream connection backed up');
  t.equal(stats.get('tcp.upload.downstream_cx_rx_bytes_total'), UPLOAD_TOTAL);
});

t.test('512 MiB of websocket messages to a slow client: the tunnel holds back, memory stays bounded', async (t) => {
  const ws = new WebSocket(`ws://127.0.0.1:${legate.port('ws')}/`);
  t.teardown(() => ws.terminate());
  const sampler = sampleRss(legate);
  const received = await readSlowly(ws, { data: 'message', end: 'close' });
  const rss = sampler.stop();
  t.equal(received, WS_TOTAL, 'every byte arrived');
  assertBounded(t, rss);
  const stats = await statsMap(legate.adminUrl(''));
  t.ok((stats.get('cluster.ws.upstream_flow_control_paused_reading_total') ?? 0) > 0, 'reading from the websocket server was paused');
});
