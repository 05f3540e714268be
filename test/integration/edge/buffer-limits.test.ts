// per_connection_buffer_limit_bytes is the write buffer past which Legate stops reading the other
// side (Envoy's watermark back-pressure). A client that never reads holds a fast sender back: with
// a 64 KiB listener limit the sender stalls after the kernel's socket buffers and that little; with
// a 32 MiB limit Legate holds 32 MiB more before it stalls. Both codecs, the TCP proxy, and a
// cluster's limit on the upload direction (tcp_proxy, and the streams of an HTTP/2 upstream).
import http2 from 'node:http2';
import net from 'node:net';
import t, { type Test } from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { MiB, settledCount } from '../../support/bulk-transfer.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';
import { startH2Upstream } from '../../support/h2-upstream.ts';
import { startTcpServer, tcpListener } from '../l4/support.ts';

const KiB = 1024;
const TIGHT = 64 * KiB;
const ROOMY = 32 * MiB;
const TOTAL = 96 * MiB;
const CHUNK = Buffer.alloc(64 * KiB, 'x');

/** Writes up to TOTAL bytes as fast as `write` takes them; `count` is what was handed over so far. */
function flood(write: (chunk: Buffer) => boolean, onDrain: (resume: () => void) => void, alive: () => boolean, count: (n: number) => void): void {
  let sent = 0;
  const pump = (): void => {
    while (sent < TOTAL && alive()) {
      sent += CHUNK.length;
      count(sent);
      if (!write(CHUNK)) {
        onDrain(pump);
        return;
      }
    }
  };
  pump();
}

// The HTTP upstream: /flood?id answers TOTAL bytes with back-pressure, recording what it wrote.
const written = new Map<string, number>();
const upstream = await startUpstream('flood', (req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  flood((c) => res.write(c), (resume) => res.once('drain', resume), () => !res.destroyed, (n) => written.set(req.url!, n));
});
t.teardown(() => upstream.close());
// The TCP upstream floods whoever connects; the upload sink never reads.
const tcpWritten: number[] = [];
const tcpFlood = await startTcpServer((socket) => {
  const index = tcpWritten.push(0) - 1;
  flood((c) => socket.write(c), (resume) => socket.once('drain', resume), () => !socket.destroyed, (n) => (tcpWritten[index] = n));
});
t.teardown(() => tcpFlood.close());
const sink = await startTcpServer((socket) => socket.pause());
t.teardown(() => sink.close());

const toFlood = routes([{ match: { prefix: '/' }, route: { cluster: 'flood', timeout: '0s' } }]);
const withLimit = (listener: object, bytes: number) => ({ ...listener, per_connection_buffer_limit_bytes: bytes });
const legate = await startLegate(bootstrap(
  [
    withLimit(httpListener('tight', toFlood), TIGHT),
    withLimit(httpListener('roomy', toFlood), ROOMY),
    tcpListener('tcptight', 'tcpflood', {}, { per_connection_buffer_limit_bytes: TIGHT }),
    tcpListener('tcproomy', 'tcpflood', {}, { per_connection_buffer_limit_bytes: ROOMY }),
    tcpListener('uptight', 'sinktight'),
    tcpListener('uproomy', 'sinkroomy'),
  ],
  [
    staticCluster('flood', [{ port: upstream.port }]),
    staticCluster('tcpflood', [{ port: tcpFlood.port }]),
    staticCluster('sinktight', [{ port: sink.port }], { per_connection_buffer_limit_bytes: TIGHT }),
    staticCluster('sinkroomy', [{ port: sink.port }], { per_connection_buffer_limit_bytes: ROOMY }),
  ],
));
t.teardown(() => legate.stop());

const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

/** A raw connection that sends `request` and never reads. */
function stalledClient(t: Test, port: number, request: string): void {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  socket.pause();
  socket.write(request);
  t.teardown(() => socket.destroy());
}

/** Where the sender stalled under each limit: the roomy one let Legate hold about ROOMY more. */
function compare(t: Test, tight: number, roomy: number): void {
  t.ok(tight < TOTAL && roomy < TOTAL, `both stalled before the end (${mib(tight)}, ${mib(roomy)} of ${mib(TOTAL)})`);
  t.ok(roomy - tight > ROOMY * 0.75, `the 32 MiB limit let ${mib(roomy - tight)} more through than the 64 KiB one (${mib(tight)} vs ${mib(roomy)})`);
}

t.test('HTTP/1: a response to a client that does not read stops at the listener limit', async (t) => {
  stalledClient(t, legate.port('tight'), 'GET /h1-tight HTTP/1.1\r\nhost: x\r\n\r\n');
  stalledClient(t, legate.port('roomy'), 'GET /h1-roomy HTTP/1.1\r\nhost: x\r\n\r\n');
  const tight = await settledCount(() => written.get('/h1-tight') ?? 0);
  const roomy = await settledCount(() => written.get('/h1-roomy') ?? 0);
  compare(t, tight, roomy);
});

t.test('HTTP/2: a stream whose client does not read stops at the listener limit', async (t) => {
  const open = (name: string, path: string) => {
    const session = http2.connect(`http://127.0.0.1:${legate.port(name)}`);
    session.on('error', () => undefined);
    t.teardown(() => session.destroy());
    const req = session.request({ ':path': path });
    req.on('error', () => undefined);
    req.pause(); // the stream's window (64 KiB) closes; Legate's stream buffers up to the limit
  };
  open('tight', '/h2-tight');
  open('roomy', '/h2-roomy');
  const tight = await settledCount(() => written.get('/h2-tight') ?? 0);
  const roomy = await settledCount(() => written.get('/h2-roomy') ?? 0);
  compare(t, tight, roomy);
});

t.test('tcp_proxy: bytes toward a client that does not read stop at the listener limit', async (t) => {
  const before = tcpWritten.length;
  stalledClient(t, legate.port('tcptight'), '');
  await settledCount(() => tcpWritten.length);
  stalledClient(t, legate.port('tcproomy'), '');
  const tight = await settledCount(() => tcpWritten[before] ?? 0);
  const roomy = await settledCount(() => tcpWritten[before + 1] ?? 0);
  compare(t, tight, roomy);
});

t.test("tcp_proxy: an upload to an upstream that does not read stops at the cluster's limit", async (t) => {
  const uploaded = async (listener: string): Promise<number> => {
    const socket = net.connect({ host: '127.0.0.1', port: legate.port(listener) });
    socket.on('error', () => undefined);
    t.teardown(() => socket.destroy());
    let sent = 0;
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    flood((c) => socket.write(c), (resume) => socket.once('drain', resume), () => !socket.destroyed, (n) => (sent = n));
    return settledCount(() => sent);
  };
  compare(t, await uploaded('uptight'), await uploaded('uproomy'));
});

t.test("HTTP/2 upstream: an upload to a stream the upstream does not read stops at the cluster's limit", async (t) => {
  const h2 = await startH2Upstream(t, (stream) => stream.pause());
  const cluster = (name: string, bytes: number) => staticCluster(name, [{ port: h2.port }], { http2_protocol_options: {}, per_connection_buffer_limit_bytes: bytes });
  const to = (name: string) => routes([{ match: { prefix: '/' }, route: { cluster: name, timeout: '0s' } }]);
  const proxy = await startLegate(bootstrap([httpListener('uptight', to('h2tight')), httpListener('uproomy', to('h2roomy'))], [cluster('h2tight', TIGHT), cluster('h2roomy', ROOMY)]));
  t.teardown(() => proxy.stop());
  const uploaded = async (listener: string): Promise<number> => {
    const socket = net.connect({ host: '127.0.0.1', port: proxy.port(listener) });
    socket.on('error', () => undefined);
    t.teardown(() => socket.destroy());
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: ${TOTAL}\r\n\r\n`);
    let sent = 0;
    flood((c) => socket.write(c), (resume) => socket.once('drain', resume), () => !socket.destroyed, (n) => (sent = n));
    return settledCount(() => sent);
  };
  compare(t, await uploaded('uptight'), await uploaded('uproomy'));
});
