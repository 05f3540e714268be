// An HPACK bomb: one header of 4 KiB enters the peer's dynamic table once, then thousands of
// one-byte references to it ask the decoder to build megabytes of headers from a few kilobytes on
// the wire. Legate bounds the decoded header list by max_request_headers_kb (nghttp2 refuses a
// header block beyond it and Legate closes that connection as a protocol error), so the bomb
// costs the attacker its connection and Legate nothing else.
import http2 from 'node:http2';
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

const upstream = await startUpstream('h1');
t.teardown(() => upstream.close());
const legate = await startLegate(bootstrap(
  [httpListener('h2in', routes([{ match: { prefix: '/' }, route: { cluster: 'h1' } }]), { codec_type: 'HTTP2' })],
  [staticCluster('h1', [{ port: upstream.port }])],
));
t.teardown(() => legate.stop());

function request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<{ status: number; error?: string }> {
  return new Promise((resolve) => {
    const req = session.request(headers);
    req.on('response', (h) => {
      req.resume();
      req.on('end', () => resolve({ status: Number(h[':status']) }));
    });
    req.on('error', (err: Error) => resolve({ status: 0, error: err.message }));
    req.on('close', () => resolve({ status: 0, error: `closed with code ${req.rstCode}` }));
    req.end();
  });
}

t.test('a header list that decodes far beyond max_request_headers_kb is refused; Legate serves on', async (t) => {
  const session = http2.connect(`http://127.0.0.1:${legate.port('h2in')}`, {
    // The client's own limits must let the bomb out: a big header table to index the 4 KiB value.
    settings: { headerTableSize: 65536 },
    maxSendHeaderBlockLength: 16 * 1024 * 1024,
  });
  session.on('error', () => undefined);
  t.teardown(() => session.destroy());

  // 4,000 copies of a 4 KiB value: 16 MiB decoded, a few KiB encoded (each copy is one table index).
  const value = 'b'.repeat(4096);
  const bomb: http2.OutgoingHttpHeaders = { ':path': '/bomb', ':method': 'GET' };
  bomb['x-bomb'] = Array.from({ length: 4000 }, () => value);
  const bombed = await request(session, bomb);
  t.not(bombed.status, 200, `the bomb is not served (${bombed.error ?? bombed.status})`);
  const stats = (await (await fetch(legate.adminUrl('/stats?format=json'))).json() as { stats: { name: string; value: number }[] }).stats;
  const stat = (name: string) => stats.find((x) => x.name === name)?.value ?? 0;
  t.ok(stat('http.h2in.downstream_cx_protocol_error') >= 1, 'counted as a protocol error of the connection');
  t.ok(stat('http.h2in.downstream_cx_rx_bytes_total') < 1024 * 1024, 'the bomb was small on the wire (it is the decoding that would cost)');

  // Legate is still there, on a new connection and for well-formed requests.
  const fresh = http2.connect(`http://127.0.0.1:${legate.port('h2in')}`);
  fresh.on('error', () => undefined);
  t.teardown(() => fresh.destroy());
  const ok = await request(fresh, { ':path': '/after', ':method': 'GET', 'x-normal': value });
  t.equal(ok.status, 200, 'a normal request after the bomb is served');
  t.equal(upstream.seen.filter((s) => s.url === '/bomb').length, 0, 'nothing of the bomb reached the upstream');
});
