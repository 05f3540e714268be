// Access logs as a user reads them: stdout and file sinks, Envoy's default format, a custom text
// format with the common command operators, and json_format with typed values. Legate runs as a
// child process so its stdout is its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { bootstrap, fileAccessLog, httpListener, routes, staticCluster, STDOUT_LOG_TYPE } from '../../support/bootstrap.ts';
import { fetchText, waitFor, waitForLines } from '../../support/http.ts';
import { spawnLegate } from '../../support/legate-process.ts';
import { startUpstream } from '../../support/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'legate-access-log-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const textPath = join(dir, 'text.log');
const jsonPath = join(dir, 'json.log');

const RESPONSE_BODY = 'twelve bytes';
const app = await startUpstream('app', (req, res) => {
  req.resume();
  req.once('end', () => {
    res.writeHead(201, { 'x-up': 'from-upstream', 'content-length': RESPONSE_BODY.length });
    res.end(RESPONSE_BODY);
  });
});
t.teardown(() => app.close());

const TEXT_FORMAT =
  '%START_TIME(%s)% "%REQ(X-TEST)%" "%RESP(X-UP)%" %RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_HOST% %UPSTREAM_CLUSTER% %DURATION% %BYTES_RECEIVED% %BYTES_SENT%\n';
const JSON_FORMAT = {
  code: '%RESPONSE_CODE%',
  sent: '%BYTES_SENT%',
  method: '%REQ(:METHOD)%',
  missing: '%REQ(X-NOT-SENT)%',
  mixed: 'code=%RESPONSE_CODE%',
  upstream: { cluster: '%UPSTREAM_CLUSTER%', host: '%UPSTREAM_HOST%' },
};

const legate = await spawnLegate(
  bootstrap(
    [
      httpListener('ingress', routes([{ match: { prefix: '/app' }, route: { cluster: 'app' } }]), {
        access_log: [
          { name: 'envoy.access_loggers.stdout', typed_config: { '@type': STDOUT_LOG_TYPE } },
          fileAccessLog(textPath, TEXT_FORMAT),
          fileAccessLog(jsonPath, JSON_FORMAT),
        ],
      }),
    ],
    [staticCluster('app', [{ port: app.port }])],
  ),
);
t.teardown(() => legate.stop('SIGKILL'));

// Two requests, logged by every sink: a routed POST and a local 404.
const before = Math.floor(Date.now() / 1000);
const started = performance.now();
const routed = await fetchText(legate.url('/app/item?x=1'), {
  method: 'POST',
  body: 'hello',
  headers: { 'x-test': 'marker', 'user-agent': 'legate-test', 'x-request-id': 'req-1', 'x-forwarded-for': '192.0.2.7' },
});
const elapsedMs = performance.now() - started;
const missed = await fetchText(legate.url('/nowhere'), { headers: { 'user-agent': 'legate-test', 'x-request-id': 'req-2' } });
const after = Math.ceil(Date.now() / 1000);

t.test('the requests were answered', async (t) => {
  t.equal(routed.status, 201);
  t.equal(routed.body, RESPONSE_BODY);
  t.equal(missed.status, 404);
});

t.test("stdout: Envoy's default format", async (t) => {
  const lines = await waitFor('two access log lines on stdout', () => {
    const out = legate.stdout().split('\n').filter((l) => l.startsWith('['));
    return out.length >= 2 ? out : undefined;
  });
  const defaultLine =
    /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\] "(\S+) (\S+) (\S+)" (\d+) (\S+) (\d+) (\d+) (\d+) (\S+) "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)"$/;
  const first = defaultLine.exec(lines[0]);
  t.ok(first, `default format: ${lines[0]}`);
  if (first === null) return;
  const [, time, method, path, protocol, code, flags, received, sent, , serviceTime, xff, agent, requestId, authority, upstreamHost] = first;
  t.ok(Math.abs(Date.parse(time) / 1000 - before) <= after - before + 1, 'START_TIME is now, in UTC');
  t.same([method, path, protocol, code, flags], ['POST', '/app/item?x=1', 'HTTP/1.1', '201', '-']);
  t.same([received, sent], ['5', String(RESPONSE_BODY.length)], 'bytes received and sent');
  t.match(serviceTime, /^\d+$/, 'x-envoy-upstream-service-time');
  t.same([xff, agent, requestId, authority, upstreamHost], ['192.0.2.7', 'legate-test', 'req-1', `127.0.0.1:${legate.port()}`, app.address]);
  t.match(lines[1], /^\[[^\]]+\] "GET \/nowhere HTTP\/1\.1" 404 NR 0 0 \d+ - "-" "legate-test" "req-2" "[^"]+" "-"$/, 'a local reply: flags NR, no upstream');
});

t.test('file: a custom text format', async (t) => {
  const [routedLine, missedLine] = await waitForLines(textPath, 2);
  const fields = routedLine.split(' ');
  const startSeconds = Number(fields[0]);
  t.ok(startSeconds >= before && startSeconds <= after, `%START_TIME(%s)% is epoch seconds (${fields[0]})`);
  t.same(fields.slice(1, 7), ['"marker"', '"from-upstream"', '201', '-', app.address, 'app'], 'REQ, RESP, RESPONSE_CODE, RESPONSE_FLAGS, UPSTREAM_HOST, UPSTREAM_CLUSTER');
  const duration = Number(fields[7]);
  t.ok(Number.isInteger(duration) && duration >= 0 && duration <= Math.ceil(elapsedMs), `DURATION ${duration} ms within the client's ${elapsedMs.toFixed(0)} ms`);
  t.same(fields.slice(8), ['5', String(RESPONSE_BODY.length)], 'BYTES_RECEIVED, BYTES_SENT');
  t.match(missedLine, /^\d+ "-" "-" 404 NR - - \d+ 0 0$/, 'missing values print as -');
});

t.test('file: json_format keeps types', async (t) => {
  const [routedLine, missedLine] = await waitForLines(jsonPath, 2);
  t.same(JSON.parse(routedLine), {
    code: 201,
    sent: RESPONSE_BODY.length,
    method: 'POST',
    missing: null,
    mixed: 'code=201',
    upstream: { cluster: 'app', host: app.address },
  });
  t.match(JSON.parse(missedLine), { code: 404, sent: 0, method: 'GET', upstream: { cluster: null, host: null } });
});
