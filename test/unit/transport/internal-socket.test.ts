// The in-process socket pair behind internal listeners: delivery never inside the writer's call,
// back-pressure at the buffer size, half-close, destroy as EOF plus EPIPE, Envoy's addresses, and
// connect failures for a missing listener or a missing bootstrap extension.
import { once } from 'node:events';
import t from 'tap';
import { InternalListenerRegistry, type InternalSocket } from '../../../proxy/transport/index.ts';

const KB = 1024;

function registry(bufferSize: number | undefined): { reg: InternalListenerRegistry; accepted: () => Promise<InternalSocket> } {
  const reg = new InternalListenerRegistry();
  reg.configure(bufferSize);
  const waiting: ((s: InternalSocket) => void)[] = [];
  const ready: InternalSocket[] = [];
  reg.register('inner', (s) => {
    const w = waiting.shift();
    if (w !== undefined) w(s);
    else ready.push(s);
  });
  const accepted = () => (ready.length > 0 ? Promise.resolve(ready.shift()!) : new Promise<InternalSocket>((resolve) => waiting.push(resolve)));
  return { reg, accepted };
}

t.test('bytes both ways, addresses, byte counts, half-close', async (t) => {
  const { reg, accepted } = registry(64 * KB);
  const client = reg.connect({ serverListenerName: 'inner', endpointId: 'ep1' }, false);
  const [server] = await Promise.all([accepted(), once(client, 'connect')]);
  t.equal(client.localAddress, 'envoy://internal_client_address/');
  t.equal(client.remoteAddress, 'envoy://inner/ep1');
  t.equal(server.localAddress, 'envoy://inner/ep1', "the listener's end is the internal address");
  t.equal(server.remoteAddress, 'envoy://internal_client_address/');

  server.allowHalfOpen = true;
  let inWrite = false;
  let reentrant = false;
  let received = '';
  server.on('data', (d: Buffer) => {
    if (inWrite) reentrant = true;
    received += d.toString();
  });
  inWrite = true;
  client.write('hello ');
  client.end('world');
  inWrite = false;
  await once(server, 'end');
  t.equal(received, 'hello world');
  t.notOk(reentrant, 'the peer never reads inside the writer\'s call');
  // Half-closed: the listener's end still writes after the client's EOF.
  let back = '';
  client.on('data', (d: Buffer) => (back += d.toString()));
  server.end('answer');
  await once(client, 'close');
  t.equal(back, 'answer');
  t.equal(client.bytesWritten, 11);
  t.equal(client.bytesRead, 6);
  t.equal(server.bytesRead, 11);
});

t.test('back-pressure: a reader that stops holds the writer at the buffer size', async (t) => {
  const bufferSize = 32 * KB;
  const { reg, accepted } = registry(bufferSize);
  const client = reg.connect({ serverListenerName: 'inner', endpointId: '' }, false);
  const [server] = await Promise.all([accepted(), once(client, 'connect')]);
  server.pause();
  const chunk = Buffer.alloc(4 * KB, 7);
  let completed = 0;
  let offered = 0;
  // Offer far more than the buffer: the writes past it stay in the writer's own buffer.
  for (let i = 0; i < 256; i++) {
    offered += chunk.length;
    client.write(chunk, () => (completed += chunk.length));
  }
  t.notOk(client.write(Buffer.alloc(0)), 'write() answers false');
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  // Completed writes are the bytes the paused peer holds: its buffer plus its stream's watermark.
  t.ok(completed <= bufferSize + server.readableHighWaterMark + chunk.length, `the paused peer holds at most buffer + watermark (${completed} bytes)`);
  t.ok(completed >= bufferSize - chunk.length, 'it takes up to the buffer size');
  t.equal(client.writableLength, offered - completed, 'the rest waits in the writer');

  let got = 0;
  let intact = true;
  server.on('data', (d: Buffer) => {
    got += d.length;
    if (d.some((b) => b !== 7)) intact = false;
  });
  server.resume();
  client.end();
  await once(server, 'end');
  t.equal(got, offered, 'everything arrives once the reader reads');
  t.ok(intact);
  t.equal(completed, offered);
});

t.test('destroy: the peer reads EOF after what was queued, and its writes fail with EPIPE', async (t) => {
  const { reg, accepted } = registry(64 * KB);
  const client = reg.connect({ serverListenerName: 'inner', endpointId: '' }, true);
  const [server] = await Promise.all([accepted(), once(client, 'connect')]);
  let got = '';
  client.on('data', (d: Buffer) => (got += d.toString()));
  server.write('last words');
  server.destroy();
  await once(client, 'end');
  t.equal(got, 'last words');
  client.write('anyone?');
  const [err] = (await once(client, 'error')) as [NodeJS.ErrnoException];
  t.equal(err.code, 'EPIPE');
});

t.test('no listener of that name, or no bootstrap extension: EINVAL on connect', async (t) => {
  const { reg } = registry(64 * KB);
  const missing = reg.connect({ serverListenerName: 'absent', endpointId: '' }, false);
  const [err] = (await once(missing, 'error')) as [NodeJS.ErrnoException];
  t.equal(err.code, 'EINVAL');
  t.equal(err.message, 'immediate connect error: Invalid argument', "Envoy's failure reason");

  const { reg: unconfigured } = registry(undefined);
  const noExtension = unconfigured.connect({ serverListenerName: 'inner', endpointId: '' }, false);
  const [err2] = (await once(noExtension, 'error')) as [NodeJS.ErrnoException];
  t.equal(err2.code, 'EINVAL', 'the listener exists, but internal connections need the bootstrap extension');
});

t.test('a replaced listener unregistering does not remove its successor', async (t) => {
  const reg = new InternalListenerRegistry();
  reg.configure(KB);
  const seen: string[] = [];
  const unregisterOld = reg.register('l', () => seen.push('old'));
  reg.register('l', (s) => {
    seen.push('new');
    s.destroy();
  });
  unregisterOld();
  const client = reg.connect({ serverListenerName: 'l', endpointId: '' }, false);
  await once(client, 'connect');
  t.same(seen, ['new']);
  client.destroy();
});

t.test('setTimeout: writes are activity, silence is not', async (t) => {
  const { reg, accepted } = registry(64 * KB);
  const client = reg.connect({ serverListenerName: 'inner', endpointId: '' }, false);
  const [server] = await Promise.all([accepted(), once(client, 'connect')]);
  server.resume();
  // No handle keeps the loop alive while the (unref'd) socket timer runs: this timer does.
  const alive = setTimeout(() => undefined, 10_000);
  t.teardown(() => clearTimeout(alive));
  let timedOut = false;
  client.setTimeout(150, () => (timedOut = true));
  // A writer that only writes, every 25 ms for 250 ms, is never idle for 150 ms.
  for (let i = 0; i < 10; i++) {
    client.write('x');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  t.notOk(timedOut, 'writing keeps the connection active');
  await once(client, 'timeout');
  t.pass('then 150 ms of silence times out');
  client.destroy();
});
