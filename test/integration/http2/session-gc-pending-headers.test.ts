// node:http2 (node 24.21) aborts the process in ~Http2Session, CHECK(current_nghttp2_memory_ == 0),
// when a destroyed session is garbage collected while one of its destroyed streams still holds
// the header block it was receiving: the stream leaves the session's map when destroyed but is
// deleted (and lets go of nghttp2's rcbufs) only by a SetImmediate, and node drops its last
// reference to the native session when the session is destroyed. The fuzzer hit it about once
// per 14,000 inputs; here the GC is forced at that moment. A POST's trailers arrive without
// END_HEADERS (the block stays pending), the response data waits behind a zero window, and
// Legate's keepalive timeout destroys the connection: its stream's cleanup cancels that write,
// and the write's callback runs a full GC (a preload in Legate's process) before the stream is
// deleted. Legate keeps the native session until the check phase after 'close', and lives.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { spawnLegate } from '../../support/legate-process.ts';
import { startUpstream } from '../../support/upstream.ts';
import * as f from '../../../fuzz/http2/frames.ts';

// Loaded into Legate's process: every stream write callback starts with a full GC.
const PRELOAD = `import { Duplex } from 'node:stream';
const write = Duplex.prototype.write;
const withGc = (cb) => (...args) => { globalThis.gc(); return cb(...args); };
Duplex.prototype.write = function (chunk, encoding, cb) {
  if (typeof encoding === 'function') return write.call(this, chunk, withGc(encoding));
  return write.call(this, chunk, encoding, typeof cb === 'function' ? withGc(cb) : cb);
};
`;

t.test('a session destroyed while a stream holds a half-received header block is collected safely', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'legate-h2gc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const preload = join(dir, 'gc-in-write-callbacks.mjs');
  writeFileSync(preload, PRELOAD);

  // Answers at once, before the request (whose trailers never finish) ends.
  const upstream = await startUpstream('up', (_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.end('x'.repeat(100));
  });
  t.teardown(() => upstream.close());
  const config = bootstrap(
    [httpListener('h2in', routes([{ match: { prefix: '/' }, route: { cluster: 'up' } }]), {
      codec_type: 'HTTP2',
      http2_protocol_options: { connection_keepalive: { interval: '0.2s', timeout: '0.2s' } },
    })],
    [staticCluster('up', [{ port: upstream.port }])],
  );
  const legate = await spawnLegate(config, [], { env: { ...process.env, NODE_OPTIONS: `--expose-gc --import ${pathToFileURL(preload).href}` } });
  t.teardown(() => legate.stop('SIGKILL'));

  const socket = net.connect(legate.port('h2in'), '127.0.0.1');
  socket.on('error', () => undefined);
  t.teardown(() => socket.destroy());
  let received = 0;
  socket.on('data', (chunk: Buffer) => (received += chunk.length));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(Buffer.concat([
    f.PREFACE,
    f.settings([[4, 0]]), // SETTINGS_INITIAL_WINDOW_SIZE 0: the response body stays queued in Legate
    f.settings([], f.ACK),
    f.headers(1, f.headerBlock(f.requestFields('/trailers-pending', [], 'POST')), false),
    // Trailers with END_STREAM but no END_HEADERS: nghttp2 waits for a CONTINUATION that never comes.
    f.frame(f.HEADERS, f.END_STREAM, 1, f.headerBlock([['x-trailer', 't'.repeat(100)], ['x-more', 'm']])),
  ]));

  // PINGs go unanswered: the keepalive timeout destroys the connection.
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5000))]);
  t.ok(socket.destroyed || socket.readableEnded, 'Legate closed the connection (keepalive timeout)');
  t.equal(upstream.seen.length, 1, 'the request reached the upstream');
  t.ok(received > 0, 'Legate answered on the connection (SETTINGS, the response head, PINGs)');

  // And serves on: a new connection, a plain request.
  const answer = await new Promise<string>((resolve) => {
    const s = net.connect(legate.port('h2in'), '127.0.0.1');
    let bytes = Buffer.alloc(0);
    s.on('error', (err) => resolve(`error ${err.message}`));
    s.on('data', (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      if (f.frameTypes(bytes).types.includes(f.HEADERS)) {
        s.destroy();
        resolve('headers');
      }
    });
    s.write(Buffer.concat([f.PREFACE, f.settings([]), f.headers(1, f.headerBlock(f.requestFields('/after')), true)]));
    setTimeout(() => resolve('no answer'), 5000);
  });
  t.equal(answer, 'headers', 'a request on a new connection is answered');
  // It answered after the collection that used to abort it; nothing exited since.
  const exit = await Promise.race([legate.exited, new Promise<undefined>((resolve) => setImmediate(resolve, undefined))]);
  t.equal(exit, undefined, `Legate is alive (${JSON.stringify(exit)})`);
  t.notOk(legate.stderrLines.some((line) => line.includes('Assertion failed')), legate.stderrLines.filter((l) => /Assertion|Http2Session/.test(l)).join('\n') || 'no assertion in its log');
});
