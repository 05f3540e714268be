// tcp_proxy end to end over loopback: bytes both ways, half-close in both directions, weighted
// clusters, connect attempts, the failure flags Envoy logs (UF, URX, UH), idle timeout, max
// connection duration, and the tcp.<stat_prefix>.* stats.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { bootstrap, fileAccessLog, staticCluster } from '../../support/bootstrap.ts';
import { statsMap, waitFor, waitForLines } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { closedPort } from '../../support/upstream.ts';
import { closedByPeer, connectClient, exchange, startEchoServer, startNamedServer, startTcpServer, tcpListener } from './support.ts';

const dir = mkdtempSync(join(tmpdir(), 'legate-tcp-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const LOG_FORMAT = '%RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %UPSTREAM_HOST% %UPSTREAM_CLUSTER% %DURATION%\n';

const echo = await startEchoServer();
t.teardown(() => echo.close());
const alpha = await startNamedServer('alpha');
t.teardown(() => alpha.close());
const beta = await startNamedServer('beta');
t.teardown(() => beta.close());
const dead = await closedPort();
// Sends a greeting and ends its side at once, then reports what the client sent after that.
const afterFin: Buffer[] = [];
const greeter = await startTcpServer((socket) => {
  socket.end('hello, then FIN');
  socket.on('data', (c: Buffer) => afterFin.push(c));
});
t.teardown(() => greeter.close());

const logPath = (name: string) => join(dir, `${name}.log`);
const withLog = (name: string) => ({ access_log: [fileAccessLog(logPath(name), LOG_FORMAT)] });

const legate = await startLegate(
  bootstrap(
    [
      tcpListener('echo', 'echo', withLog('echo')),
      tcpListener('greeter', 'greeter'),
      tcpListener('weighted', { alpha: 50, beta: 50 }),
      tcpListener('skewed', { alpha: 90, beta: 10 }),
      tcpListener('retry', 'half_dead', { max_connect_attempts: 2 }),
      tcpListener('refused', 'dead', withLog('refused')),
      tcpListener('empty', 'empty', withLog('empty')),
      tcpListener('idle', 'echo', { idle_timeout: '0.2s' }),
      tcpListener('capped', 'echo', { max_downstream_connection_duration: '0.3s', ...withLog('capped') }),
    ],
    [
      staticCluster('echo', [{ port: echo.port }]),
      staticCluster('greeter', [{ port: greeter.port }]),
      staticCluster('alpha', [{ port: alpha.port }]),
      staticCluster('beta', [{ port: beta.port }]),
      staticCluster('half_dead', [{ port: dead }, { port: echo.port }]),
      staticCluster('dead', [{ port: dead }]),
      { ...staticCluster('empty', []), load_assignment: { cluster_name: 'empty', endpoints: [] } },
    ],
  ),
);
t.teardown(() => legate.stop());
const stats = () => statsMap(legate.adminUrl(''));

t.test('bytes go both ways; stats and the access log count them', async (t) => {
  const payload = randomBytes(3 * 1024 * 1024);
  const got = await exchange(legate.port('echo'), payload);
  t.equal(got.data.length, payload.length, 'every byte came back');
  t.ok(got.data.equals(payload), 'unchanged and in order');
  const [line] = await waitForLines(logPath('echo'), 1);
  const [flags, received, sent, host, cluster, duration] = line.split(' ');
  t.equal(flags, '-');
  t.equal(Number(received), payload.length, '%BYTES_RECEIVED% is what the client sent');
  t.equal(Number(sent), payload.length, '%BYTES_SENT% is what the client got');
  t.equal(host, `127.0.0.1:${echo.port}`);
  t.equal(cluster, 'echo');
  t.ok(Number(duration) >= 0);
  const s = await waitFor('the byte counters', async () => {
    const m = await stats();
    return m.get('tcp.echo.downstream_cx_rx_bytes_total') === payload.length ? m : undefined;
  });
  t.equal(s.get('tcp.echo.downstream_cx_total'), 1);
  t.equal(s.get('tcp.echo.downstream_cx_tx_bytes_total'), payload.length);
  t.equal(s.get('cluster.echo.upstream_cx_tx_bytes_total'), payload.length);
  t.equal(s.get('cluster.echo.upstream_cx_rx_bytes_total'), payload.length);
  t.equal(s.get('cluster.echo.upstream_cx_total'), 1);
});

t.test('half-close from the client: it ends its side and still receives the rest', async (t) => {
  const client = await connectClient(legate.port('echo'));
  t.teardown(() => client.destroy());
  const payload = randomBytes(1024 * 1024);
  const chunks: Buffer[] = [];
  client.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve) => client.once('end', resolve));
  client.end(payload); // FIN right after the data: the echo answers after it
  await ended;
  t.ok(Buffer.concat(chunks).equals(payload), 'the whole echo arrived after our FIN');
  await closedByPeer(client);
});

t.test('half-close from the upstream: the client gets its FIN and can still send', async (t) => {
  const client = await connectClient(legate.port('greeter'));
  t.teardown(() => client.destroy());
  let greeting = '';
  client.setEncoding('utf8').on('data', (c: string) => (greeting += c));
  await new Promise<void>((resolve) => client.once('end', resolve));
  t.equal(greeting, 'hello, then FIN');
  client.end('still talking');
  await waitFor('the late bytes upstream', () => (Buffer.concat(afterFin).toString() === 'still talking' ? true : undefined));
  await closedByPeer(client);
});

t.test('weighted_clusters spread connections by weight', async (t) => {
  const seen = new Map<string, number>();
  for (let i = 0; i < 40; i++) {
    const name = (await exchange(legate.port('weighted'))).data.toString();
    seen.set(name, (seen.get(name) ?? 0) + 1);
  }
  t.same([...seen.keys()].sort(), ['alpha', 'beta'], 'both clusters get connections at 50/50');
  // At 90/10, 100 connections give beta 10 on average; 0 or more than 35 is about 1 in 40 000.
  let betas = 0;
  for (let i = 0; i < 100; i++) if ((await exchange(legate.port('skewed'))).data.toString() === 'beta') betas++;
  t.ok(betas >= 1 && betas <= 35, `beta got ${betas} of 100 at weight 10 of 100`);
});

t.test('max_connect_attempts: a refused host is retried on another host', async (t) => {
  for (let i = 0; i < 4; i++) {
    const got = await exchange(legate.port('retry'), 'ping');
    t.equal(got.data.toString(), 'ping', `connection ${i} reached the live host`);
  }
  const s = await stats();
  t.ok((s.get('cluster.half_dead.upstream_cx_connect_fail') ?? 0) >= 1, 'the dead host was tried');
  t.equal(s.get('cluster.half_dead.upstream_cx_connect_attempts_exceeded') ?? 0, 0);
});

t.test('connect failure: the connection closes and is logged UF,URX', async (t) => {
  const got = await exchange(legate.port('refused'), 'ping');
  t.equal(got.data.length, 0, 'nothing was relayed');
  const [line] = await waitForLines(logPath('refused'), 1);
  t.match(line, /^UF,URX 0 0 127\.0\.0\.1:\d+ dead /);
  const s = await stats();
  t.equal(s.get('cluster.dead.upstream_cx_connect_fail'), 1);
  t.equal(s.get('cluster.dead.upstream_cx_connect_attempts_exceeded'), 1);
});

t.test('no host in the cluster: UH and upstream_cx_none_healthy', async (t) => {
  const got = await exchange(legate.port('empty'), 'ping');
  t.equal(got.data.length, 0);
  const [line] = await waitForLines(logPath('empty'), 1);
  t.match(line, /^UH 0 0 - empty /);
  t.equal((await stats()).get('cluster.empty.upstream_cx_none_healthy'), 1);
});

t.test('idle_timeout closes a quiet connection and counts it', async (t) => {
  const client = await connectClient(legate.port('idle'));
  t.teardown(() => client.destroy());
  const start = Date.now();
  await closedByPeer(client, 5000);
  t.ok(Date.now() - start >= 150, 'not before the timeout');
  t.equal((await stats()).get('tcp.idle.idle_timeout'), 1);
});

t.test('idle_timeout does not close a connection that keeps talking', async (t) => {
  const client = await connectClient(legate.port('idle'));
  t.teardown(() => client.destroy());
  // 8 round trips 50 ms apart span 400 ms, twice the timeout.
  for (let i = 0; i < 8; i++) {
    const echoed = new Promise<Buffer>((resolve) => client.once('data', resolve));
    client.write(`tick ${i}`);
    t.equal((await echoed).toString(), `tick ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.notOk(client.closed, 'still open');
});

t.test('max_downstream_connection_duration closes the connection: DT', async (t) => {
  const client = await connectClient(legate.port('capped'));
  t.teardown(() => client.destroy());
  client.write('busy');
  await closedByPeer(client, 5000);
  const [line] = await waitForLines(logPath('capped'), 1);
  t.match(line, /^DT 4 4 /);
  t.equal((await stats()).get('tcp.capped.max_downstream_connection_duration'), 1);
});
