// The fixed_heap monitor driving real pressure: Legate runs in this process, so the test moves the
// V8 heap itself (large arrays held, then dropped and collected) against a max_heap_size_bytes set
// just above what is in use. Between the two thresholds disable_http_keepalive closes connections
// after their response; above the second, stop_accepting_requests answers 503 "envoy overloaded"
// with flag OM; once the arrays are collected, requests are served and kept alive again.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';
import { bootstrap, fileAccessLog, httpListener, routes } from '../../support/bootstrap.ts';
import { statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MB = 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'legate-overload-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const logPath = join(dir, 'access.log');
const hello = routes([{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'hi' } } }]);
const listener = httpListener('l', hello, { access_log: [fileAccessLog(logPath, '%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n')] });
// A listener with bypass_overload_manager: no action reaches it. (Its stats need another address.)
const bypassing = { ...httpListener('bypass', hello), address: { socket_address: { address: '127.0.0.2', port_value: 0 } }, bypass_overload_manager: true };
const withOverload = (max: number, keepaliveAt: number, stopAt: number) => bootstrap([listener, bypassing], [], {
  overload_manager: {
    refresh_interval: '0.02s',
    resource_monitors: [{ name: 'envoy.resource_monitors.fixed_heap', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig', max_heap_size_bytes: max } }],
    actions: [
      { name: 'envoy.overload_actions.disable_http_keepalive', triggers: [{ name: 'envoy.resource_monitors.fixed_heap', threshold: { value: keepaliveAt } }] },
      { name: 'envoy.overload_actions.stop_accepting_requests', triggers: [{ name: 'envoy.resource_monitors.fixed_heap', threshold: { value: stopAt } }] },
    ],
  },
});

// What Legate keeps once started (the Envoy schema among it) is in the heap before the baseline.
translateBootstrap(withOverload(1, 0.5, 0.9));
gc();
const base = getHeapStatistics().used_heap_size;
// Pressure is 1 at base + 200 MB; keep-alive goes at base + 60 MB, requests at base + 140 MB.
const max = base + 200 * MB;
const legate = await startLegate(withOverload(max, (base + 60 * MB) / max, (base + 140 * MB) / max));
t.teardown(() => legate.stop());
const port = legate.port('l');

let held: number[][] = [];
/** Keeps about `mb` MB more in the V8 heap (arrays of doubles: 8 bytes an element), the garbage of making them collected. */
const hold = (mb: number) => {
  held.push(new Array((mb * MB) / 8).fill(0.5));
  gc();
};

/** One request on a fresh connection: its status line and whether Legate closed the connection after it. */
function exchange(to = { host: '127.0.0.1', port }): Promise<{ status: string; closed: boolean; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(to);
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ status: data.split('\r\n')[0], closed: false, head: data });
    }, 300);
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (data += c));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ status: data.split('\r\n')[0], closed: true, head: data });
    });
    socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  });
}

t.test('below both thresholds: served and kept alive', async (t) => {
  const r = await exchange();
  t.equal(r.status, 'HTTP/1.1 200 OK');
  t.equal(r.closed, false, 'the connection stays open');
});

t.test('above the keep-alive threshold: served with connection: close', async (t) => {
  hold(100);
  const r = await waitFor('keep-alive disabled', async () => {
    const r = await exchange();
    return r.closed ? r : undefined;
  });
  t.equal(r.status, 'HTTP/1.1 200 OK', 'requests are still served');
  t.match(r.head, /connection: close/i);
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('overload.envoy.overload_actions.disable_http_keepalive.active'), 1);
  t.equal(stats.get('overload.envoy.overload_actions.stop_accepting_requests.active'), 0);
  t.ok((stats.get('http.l.downstream_cx_overload_disable_keepalive') ?? 0) >= 1);

  // HTTP/2 (prior knowledge; the listener's AUTO codec sees the preface): the answer, then GOAWAY.
  const session = http2.connect(`http://127.0.0.1:${port}`);
  t.teardown(() => session.destroy());
  session.on('error', () => undefined);
  const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
  const status = await new Promise<number>((resolve, reject) => {
    const req = session.request({ ':path': '/' });
    req.on('response', (h) => resolve(Number(h[':status'])));
    req.on('error', reject);
    req.resume();
    req.end();
  });
  t.equal(status, 200, 'HTTP/2: served');
  await goaway;
  t.pass('HTTP/2: GOAWAY after the response');
});

t.test('above the request threshold: 503 envoy overloaded, flag OM', async (t) => {
  hold(80);
  const r = await waitFor('requests refused', async () => {
    const r = await exchange();
    return r.status.includes('503') ? r : undefined;
  });
  t.match(r.head, /envoy overloaded$/);
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('overload.envoy.overload_actions.stop_accepting_requests.active'), 1);
  t.equal(stats.get('overload.envoy.overload_actions.stop_accepting_requests.scale_percent'), 100);
  t.ok((stats.get('overload.envoy.resource_monitors.fixed_heap.pressure') ?? 0) >= 70, 'pressure is a percent');
  t.ok((stats.get('http.l.downstream_rq_overload_close') ?? 0) >= 1);
  // Access logs flush asynchronously: wait for the line.
  const line = await waitFor('the 503 in the access log', () => readFileSync(logPath, 'utf8').split('\n').find((l) => l.startsWith('503')));
  t.equal(line, '503 OM overload', 'the access log has the flag and the details');
  const bypassed = await exchange({ host: '127.0.0.2', port: legate.port('bypass') });
  t.equal(bypassed.status, 'HTTP/1.1 200 OK', 'bypass_overload_manager: served');
  t.equal(bypassed.closed, false, 'and kept alive');
});

t.test('pressure gone: requests recover', async (t) => {
  held = [];
  gc();
  const r = await waitFor('recovered', async () => {
    const r = await exchange();
    return r.status.includes('200') && !r.closed ? r : undefined;
  });
  t.equal(r.status, 'HTTP/1.1 200 OK');
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('overload.envoy.overload_actions.stop_accepting_requests.active'), 0);
  t.equal(stats.get('overload.envoy.overload_actions.disable_http_keepalive.active'), 0);
});

t.test('shrink_heap: a full collection when saturated, at most every 10 s', async (t) => {
  const shrinking = await startLegate(bootstrap([httpListener('s', hello)], [], {
    overload_manager: {
      refresh_interval: '0.02s',
      resource_monitors: [{ name: 'envoy.resource_monitors.fixed_heap', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig', max_heap_size_bytes: 1024 } }],
      actions: [{ name: 'envoy.overload_actions.shrink_heap', triggers: [{ name: 'envoy.resource_monitors.fixed_heap', threshold: { value: 0.9 } }] }],
    },
  }));
  t.teardown(() => shrinking.stop());
  const count = async () => (await statsMap(shrinking.adminUrl(''))).get('overload.envoy.overload_actions.shrink_heap.shrink_count');
  t.equal(await waitFor('a shrink', async () => ((await count()) === 1 ? 1 : undefined)), 1);
  const stats = await statsMap(shrinking.adminUrl(''));
  t.equal(stats.get('overload.envoy.overload_actions.shrink_heap.active'), 1);
  t.equal(await count(), 1, 'not again within the interval');
});
