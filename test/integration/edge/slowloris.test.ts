// Slowloris: with request_headers_timeout set, hundreds of connections that trickle their request
// head one byte at a time are cut at the timeout (408, then the close; counted as
// downstream_rq_header_timeout), while ordinary clients on other connections are answered
// promptly the whole time.
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

const TRICKLERS = 500;
const HEADERS_TIMEOUT_MS = 1500;
const BYTE_EVERY_MS = 200;

// Each trickling connection costs a descriptor here and one in Legate (the test process's limit is
// the one a child inherits).
const limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
const needed = TRICKLERS * 2 + 200;
const skip = Number.isFinite(limit) && limit < needed ? `ulimit -n is ${limit}: ${TRICKLERS} trickling connections need about ${needed} descriptors` : false;

const upstream = await startUpstream('app');
t.teardown(() => upstream.close());
const legate = await startLegate(bootstrap(
  [httpListener('edge', routes([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), { request_headers_timeout: `${HEADERS_TIMEOUT_MS / 1000}s` })],
  [staticCluster('app', [{ port: upstream.port }])],
));
t.teardown(() => legate.stop());

interface Trickler {
  socket: net.Socket;
  received: string;
  openedAt: number;
  closedAt?: number;
}

t.test(`${TRICKLERS} slowloris connections are cut at request_headers_timeout; normal clients are served meanwhile`, { skip }, async (t) => {
  const tricklers: Trickler[] = [];
  const allClosed = Promise.all(
    Array.from({ length: TRICKLERS }, () => new Promise<void>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: legate.port('edge') });
      const tr: Trickler = { socket, received: '', openedAt: performance.now() };
      tricklers.push(tr);
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => (tr.received += c));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        tr.closedAt = performance.now();
        resolve();
      });
      socket.on('connect', () => socket.write('GET /slow HTTP/1.1\r\nhost: edge\r\nx-slow: '));
    })),
  );
  t.teardown(() => {
    for (const tr of tricklers) tr.socket.destroy();
  });
  // One byte per connection every BYTE_EVERY_MS: the head never completes. Bounded by the deadline.
  const trickle = setInterval(() => {
    for (const tr of tricklers) if (!tr.socket.destroyed && tr.socket.writable) tr.socket.write('a');
  }, BYTE_EVERY_MS);
  t.teardown(() => clearInterval(trickle));

  // Ordinary requests, 5 at a time, until the tricklers are gone (at most 60 rounds).
  const latencies: number[] = [];
  const statuses: number[] = [];
  let done = false;
  allClosed.then(() => (done = true), () => (done = true));
  for (let round = 0; round < 60 && !done; round++) {
    await Promise.all(Array.from({ length: 5 }, async () => {
      const start = performance.now();
      const reply = await fetchText(legate.url('/normal', 'edge'));
      latencies.push(performance.now() - start);
      statuses.push(reply.status);
    }));
  }
  await Promise.race([allClosed, new Promise((_, reject) => setTimeout(() => reject(new Error('tricklers still open 10 s later')), 10_000).unref())]);
  clearInterval(trickle);

  const cutAt = tricklers.map((tr) => tr.closedAt! - tr.openedAt);
  const with408 = tricklers.filter((tr) => /^HTTP\/1\.1 408 /.test(tr.received)).length;
  t.equal(with408, TRICKLERS, 'every trickling connection got 408 before the close');
  t.ok(Math.min(...cutAt) >= HEADERS_TIMEOUT_MS - 50, `none was cut early (first after ${Math.round(Math.min(...cutAt))} ms)`);
  t.ok(Math.max(...cutAt) < HEADERS_TIMEOUT_MS + 3000, `all were cut soon after the timeout (last after ${Math.round(Math.max(...cutAt))} ms)`);
  t.equal(upstream.seen.filter((s) => s.url === '/slow').length, 0, 'nothing of theirs reached the upstream');

  t.ok(statuses.length >= 10, `${statuses.length} normal requests while the tricklers held their connections`);
  t.ok(statuses.every((s) => s === 200), 'every normal request was answered 200');
  const worst = Math.max(...latencies);
  t.ok(worst < HEADERS_TIMEOUT_MS / 2, `every normal request completed well before the header timeout (worst ${Math.round(worst)} ms)`);

  const stats = await waitFor('the header timeouts counted', async () => {
    const s = await statsMap(legate.adminUrl(''));
    return (s.get('http.edge.downstream_rq_header_timeout') ?? 0) >= TRICKLERS ? s : undefined;
  });
  t.equal(stats.get('http.edge.downstream_rq_header_timeout'), TRICKLERS);
});
