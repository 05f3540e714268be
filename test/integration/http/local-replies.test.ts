// Envoy's local replies when a request cannot be served, with their status, body and the response
// flag the access log shows: NR, NC, UH, UF, UT, UC, UPE, and DC for a client that goes away.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { bootstrap, fileAccessLog, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, waitForLines } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { closedPort, startUpstream } from '../../support/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'legate-local-replies-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const logPath = join(dir, 'access.log');

// Never answers: for the route timeout and the client that disconnects.
const silent = await startUpstream('silent', () => {});
// Drops the connection as soon as a request arrives.
const rude = await startUpstream('rude', (req) => req.socket.destroy());
t.teardown(() => Promise.all([silent.close(), rude.close()]));
// Answers every request with a response no HTTP parser accepts.
const garbled = net.createServer((socket) => {
  socket.on('error', () => {});
  socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nthis is not a header\r\n\r\n'));
});
await new Promise<void>((resolve) => garbled.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise((resolve) => garbled.close(resolve)));
const refusing = await closedPort();

const legate = await startLegate(
  bootstrap(
    [
      httpListener(
        'ingress',
        routes([
          { match: { prefix: '/no-endpoints' }, route: { cluster: 'empty' } },
          { match: { prefix: '/refused' }, route: { cluster: 'refusing' } },
          { match: { prefix: '/slow' }, route: { cluster: 'silent', timeout: '0.2s' } },
          { match: { prefix: '/hang' }, route: { cluster: 'silent', timeout: '0s' } },
          { match: { prefix: '/reset' }, route: { cluster: 'rude' } },
          { match: { prefix: '/garbled' }, route: { cluster: 'garbled' } },
          { match: { prefix: '/missing-cluster' }, route: { cluster_header: 'x-cluster' } },
        ]),
        { access_log: [fileAccessLog(logPath, '%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n')] },
      ),
    ],
    [
      staticCluster('empty', []),
      staticCluster('refusing', [{ port: refusing }]),
      staticCluster('silent', [{ port: silent.port }]),
      staticCluster('rude', [{ port: rude.port }]),
      staticCluster('garbled', [{ port: (garbled.address() as net.AddressInfo).port }]),
    ],
  ),
);
t.teardown(() => legate.stop());

// path -> the flag its access log line must show; checked once at the end (one wait for the file).
const expectedFlags = new Map<string, string>();

// A 503 whose body gives the reset reason, as Envoy words it.
async function resetReply(t: Test, path: string, reason: string, flag: string): Promise<void> {
  const reply = await fetchText(legate.url(path));
  t.equal(reply.status, 503);
  t.match(reply.body, new RegExp(`^upstream connect error or disconnect/reset before headers\\. reset reason: ${reason}`));
  expectedFlags.set(path, flag);
}

t.test('no route: 404 NR', async (t) => {
  const reply = await fetchText(legate.url('/nothing-here'));
  t.equal(reply.status, 404);
  t.equal(reply.body, '');
  expectedFlags.set('/nothing-here', 'NR');
});

t.test('unknown cluster (from cluster_header): 503 NC', async (t) => {
  const reply = await fetchText(legate.url('/missing-cluster'), { headers: { 'x-cluster': 'nowhere' } });
  t.equal(reply.status, 503);
  expectedFlags.set('/missing-cluster', 'NC');
});

t.test('cluster without endpoints: 503 UH no healthy upstream', async (t) => {
  const reply = await fetchText(legate.url('/no-endpoints'));
  t.equal(reply.status, 503);
  t.equal(reply.body, 'no healthy upstream');
  expectedFlags.set('/no-endpoints', 'UH');
});

t.test('connection refused: 503 UF', (t) => resetReply(t, '/refused', 'connection failure', 'UF'));

t.test('route timeout: 504 UT and the upstream request is cancelled', async (t) => {
  const started = performance.now();
  const reply = await fetchText(legate.url('/slow'));
  const elapsed = performance.now() - started;
  t.equal(reply.status, 504);
  t.equal(reply.body, 'upstream request timeout');
  t.ok(elapsed >= 190 && elapsed < 2000, `answered after the 0.2 s timeout (${elapsed.toFixed(0)} ms)`);
  const seen = await silent.waitFor('/slow', 'done');
  t.equal(seen.aborted, true, 'the upstream saw its request abandoned');
  expectedFlags.set('/slow', 'UT');
});

t.test('upstream resets before answering: 503 UC', (t) => resetReply(t, '/reset', 'connection termination', 'UC'));

t.test('upstream answers something that is not HTTP: 503 UPE', (t) => resetReply(t, '/garbled', 'protocol error', 'UPE'));

t.test('client disconnects mid-request: DC and the upstream request is aborted', async (t) => {
  const socket = net.connect({ host: '127.0.0.1', port: legate.port() });
  socket.on('error', () => {});
  socket.write('GET /hang HTTP/1.1\r\nhost: x\r\n\r\n');
  await silent.waitFor('/hang');
  socket.destroy();
  const seen = await silent.waitFor('/hang', 'done');
  t.equal(seen.aborted, true, 'the upstream request was aborted');
  expectedFlags.set('/hang', 'DC');
});

t.test('the access log shows each response flag', async (t) => {
  const lines = await waitForLines(logPath, expectedFlags.size);
  const byPath = new Map(lines.map((line) => [line.split(' ')[0], line]));
  for (const [path, flag] of expectedFlags) {
    const line = byPath.get(path);
    t.ok(line !== undefined, `a line for ${path}`);
    t.equal(line?.split(' ')[2], flag, `${path}: ${line}`);
  }
  t.match(byPath.get('/hang'), /^\/hang 0 DC /, 'no response was sent to the client that left');
});
