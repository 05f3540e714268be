// Malformed requests get the status Envoy gives (400, 431), their connection closes, and the
// proxy keeps serving everyone else.
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrap, fileAccessLog, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText, rawExchange, statsMap, waitForLines } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'legate-malformed-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const logPath = join(dir, 'access.log');

const app = await startUpstream('app');
t.teardown(() => app.close());
const legate = await startLegate(
  bootstrap(
    [httpListener('ingress', routes([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), { access_log: [fileAccessLog(logPath, '%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n')] })],
    [staticCluster('app', [{ port: app.port }])],
  ),
);
t.teardown(() => legate.stop());

const statusLine = (response: string) => response.slice(0, response.indexOf('\r\n'));

async function assertStillServing(t: Test): Promise<void> {
  const reply = await fetchText(legate.url('/healthy'));
  t.equal(reply.status, 200, 'other requests are still served');
}

const cases: [name: string, request: string, status: string][] = [
  ['an invalid request line', 'THIS IS NOT HTTP\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
  ['an invalid header name', 'GET / HTTP/1.1\r\nhost: x\r\nbad header: value\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
  ['a header line without a colon', 'GET / HTTP/1.1\r\nhost: x\r\nno-colon-here\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
  ['an invalid content-length', 'POST / HTTP/1.1\r\nhost: x\r\ncontent-length: twelve\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
  ['both content-length and chunked', 'POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
  ['an oversized header (over max_request_headers_kb, 60 KiB)', `GET / HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(64 * 1024)}\r\n\r\n`, 'HTTP/1.1 431 Request Header Fields Too Large'],
];

for (const [name, request, status] of cases) {
  t.test(name, async (t) => {
    const response = await rawExchange(legate.port(), request);
    t.equal(statusLine(response), status);
    t.match(response, /\r\nconnection: close\r\n/i, 'the connection is closed');
    await assertStillServing(t);
  });
}

t.test('nothing malformed reached the upstream', async (t) => {
  t.same(
    app.seen.map((s) => s.url),
    cases.map(() => '/healthy'),
  );
});

t.test('each is counted as a protocol error and logged with DPE', async (t) => {
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('http.ingress.downstream_cx_protocol_error'), cases.length);
  const lines = await waitForLines(logPath, cases.length * 2);
  const rejected = lines.filter((l) => !l.startsWith('200 '));
  t.same(rejected.map((l) => l.split(' ').slice(0, 2).join(' ')), cases.map(([, , status]) => `${status.split(' ')[1]} DPE`));
});
