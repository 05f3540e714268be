import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { StreamInfo, acquireSink, createAccessLogger, reopenFileSinks } from '../../../proxy/access-log/index.ts';

t.test('file sink: buffered until flush, then appended', async (t) => {
  const dir = t.testdir({ 'access.log': 'existing line\n' });
  const path = join(dir, 'access.log');
  const sink = acquireSink({ kind: 'file', path }, { flushIntervalMs: 60_000 });
  sink.write('one\n');
  sink.write('two\n');
  t.equal(readFileSync(path, 'utf8'), 'existing line\n', 'nothing written synchronously');
  await sink.flush();
  t.equal(readFileSync(path, 'utf8'), 'existing line\none\ntwo\n');
  sink.write('three\n');
  await sink.release();
  t.equal(readFileSync(path, 'utf8'), 'existing line\none\ntwo\nthree\n', 'release flushes');
});

t.test('file sink: the flush interval writes on its own', async (t) => {
  const path = join(t.testdir(), 'timed.log');
  const sink = acquireSink({ kind: 'file', path }, { flushIntervalMs: 5 });
  t.teardown(() => sink.release());
  sink.write('tick\n');
  const deadline = Date.now() + 5_000;
  while (readFileSync(path, 'utf8') === '' && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  t.equal(readFileSync(path, 'utf8'), 'tick\n');
});

t.test('file sink: one shared sink per path keeps the lines in order', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'shared.log');
  const a = acquireSink({ kind: 'file', path }, { flushIntervalMs: 60_000 });
  const b = acquireSink({ kind: 'file', path: join(dir, '.', 'shared.log') }, { flushIntervalMs: 60_000 });
  for (let i = 0; i < 100; i++) (i % 2 === 0 ? a : b).write(`${i}\n`);
  await a.release();
  t.equal(readFileSync(path, 'utf8'), '', 'another user keeps the sink open; nothing forced out yet');
  b.write('last\n');
  await b.release();
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  t.same(lines, [...Array.from({ length: 100 }, (_, i) => String(i)), 'last']);
});

t.test('file sink: large batches are written whole, writes made during a flush are kept', async (t) => {
  const path = join(t.testdir(), 'big.log');
  const sink = acquireSink({ kind: 'file', path }, { flushIntervalMs: 60_000 });
  const line = 'x'.repeat(999) + '\n';
  for (let i = 0; i < 300; i++) sink.write(line); // 300 kB: passes the 64 kB batch size
  const flushing = sink.flush();
  sink.write('after\n');
  await flushing;
  await sink.release();
  const content = readFileSync(path, 'utf8');
  t.equal(content.length, 300 * 1000 + 6);
  t.ok(content.endsWith('after\n'));
});

t.test('file sink: the buffer is bounded and drops (and counts) lines past it', async (t) => {
  const path = join(t.testdir(), 'bounded.log');
  const sink = acquireSink({ kind: 'file', path }, { flushIntervalMs: 60_000, maxBufferBytes: 10 });
  sink.write('12345\n');
  sink.write('67890\n');
  t.equal(sink.dropped, 1);
  await sink.release();
  t.equal(readFileSync(path, 'utf8'), '12345\n');
});

t.test('file sink: reopen starts a new file after log rotation', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'rotate.log');
  const sink = acquireSink({ kind: 'file', path }, { flushIntervalMs: 60_000 });
  sink.write('before\n');
  await sink.flush();
  renameSync(path, path + '.1');
  sink.write('pending\n');
  await reopenFileSinks();
  sink.write('after\n');
  await sink.release();
  t.equal(readFileSync(path + '.1', 'utf8'), 'before\npending\n', 'pending lines go to the old file');
  t.equal(readFileSync(path, 'utf8'), 'after\n');
});

t.test('file sink: a path that cannot be opened fails at creation', async (t) => {
  const path = join(t.testdir(), 'no-such-dir', 'x.log');
  t.throws(() => acquireSink({ kind: 'file', path }), /access log file .*x\.log: cannot open for appending/);
});

t.test('logger: filter, format and file together', async (t) => {
  const path = join(t.testdir(), 'logger.log');
  const logger = createAccessLogger(
    {
      name: 'envoy.access_loggers.file',
      sink: { kind: 'file', path },
      format: { kind: 'text', template: '%RESPONSE_CODE% %REQ(:PATH)%\n' },
      filter: { kind: 'status_code', op: 'GE', value: 400 },
    },
    { flushIntervalMs: 60_000 },
  );
  for (const [code, path] of [[200, '/ok'], [503, '/down'], [404, '/gone']] as const) {
    const info = new StreamInfo();
    info.responseCode = code;
    info.path = path;
    logger.log(info);
  }
  await logger.close();
  t.equal(readFileSync(path, 'utf8'), '503 /down\n404 /gone\n');
});

t.test('logger: a bad format fails before the file is opened', async (t) => {
  const path = join(t.testdir(), 'never.log');
  t.throws(() =>
    createAccessLogger({ name: 'x', sink: { kind: 'file', path }, format: { kind: 'text', template: '%NOPE%' } }),
  );
  t.throws(() => readFileSync(path), { code: 'ENOENT' });
});
