// Pipelined requests: answered in order, one stream at a time, the next request held until the
// previous stream completed both ways; a bad later request never costs an earlier response.
import t from 'tap';
import { codecServer, RawClient, TestOwner, countResponses, eventually, type SeenRequest } from './helpers.ts';

t.test('1,000 pipelined requests in one write are all answered, in order', async (t) => {
  const srv = await codecServer(t);
  const c = new RawClient(srv.port, t);
  let batch = '';
  for (let i = 0; i < 1000; i++) batch += `GET /r${i} HTTP/1.1\r\nHost: a\r\n\r\n`;
  c.write(batch);
  const text = await c.until('1000 responses', (s) => s.endsWith('GET /r999 0'), 10_000);
  t.equal(countResponses(text), 1000);
  const order = [...text.matchAll(/GET \/r(\d+) 0/g)].map((m) => Number(m[1]));
  t.same(order, Array.from({ length: 1000 }, (_, i) => i), 'in request order');
});

t.test('the next request is not delivered until the previous response is done', async (t) => {
  const owner = new TestOwner();
  const pending: SeenRequest[] = [];
  owner.onEnd = (req) => pending.push(req);
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.write('GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nHost: a\r\n\r\n');
  await eventually('the first request', () => pending.length === 1);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(owner.requests.length, 1, 'only the first stream exists');
  pending[0].reply(200, 'one');
  await eventually('the second request', () => pending.length === 2);
  t.equal(owner.requests.length, 2);
  t.equal(pending[1].body, 'abc');
  pending[1].reply(200, 'two');
  await eventually('the third request', () => pending.length === 3);
  pending[2].reply(200, 'three');
  const text = await c.until('three responses', (s) => s.endsWith('three'));
  t.match(text, /one.*two.*three$/s);
});

t.test('a pipelined request waits for a streamed response to finish, however slow', async (t) => {
  const owner = new TestOwner();
  let first: SeenRequest | null = null;
  owner.onEnd = (req) => {
    if (req.head?.path === '/slow') {
      first = req;
      req.encoder.encodeHeaders({ status: 200, headers: {} }, false);
      req.encoder.encodeData(Buffer.from('part1'), false);
    } else req.reply(200, 'fast');
  };
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /fast HTTP/1.1\r\nHost: a\r\n\r\n');
  await c.until('the first part', (s) => s.endsWith('5\r\npart1\r\n'));
  t.equal(owner.requests.length, 1);
  first!.encoder.encodeData(Buffer.from('part2'), true);
  const text = await c.until('both', (s) => s.endsWith('fast'));
  t.match(text, /part1\r\n5\r\npart2\r\n0\r\n\r\nHTTP\/1\.1 200 OK\r\ncontent-length: 4\r\n\r\nfast$/);
});

t.test('a malformed second pipelined request: the first is answered, then 400, then close', async (t) => {
  const owner = new TestOwner();
  let first: SeenRequest | null = null;
  owner.onEnd = (req) => (first = req); // answered later, after the bad bytes were read
  const srv = await codecServer(t, () => owner);
  const c = new RawClient(srv.port, t);
  c.write('GET /good HTTP/1.1\r\nHost: a\r\n\r\nGET /bad HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n');
  await eventually('the first request', () => first !== null);
  await new Promise((resolve) => setImmediate(resolve));
  t.same(owner.errors, [], 'the error waits for the first stream');
  first!.reply(200, 'first');
  const text = await c.untilEnd();
  t.match(text, /^HTTP\/1\.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst/);
  t.match(text, /HTTP\/1\.1 400 Bad Request\r\n.*connection: close\r\n\r\nhttp1\.invalid_characters$/s);
  t.equal(owner.requests.length, 2, 'the error got its own stream');
  t.equal(owner.requests[1].head, null, 'no headers were decoded for it');
});

t.test('pipelined requests with bodies split across writes keep their bytes apart', async (t) => {
  const srv = await codecServer(t);
  const c = new RawClient(srv.port, t);
  const all = 'POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\n\r\nGET /c HTTP/1.1\r\nHost: a\r\n\r\n';
  for (let i = 0; i < all.length; i += 7) {
    c.write(all.slice(i, i + 7));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const text = await c.until('three', (s) => s.endsWith('GET /c 0'));
  t.equal(countResponses(text), 3);
  t.same(srv.owners[0].requests.map((r) => r.body), ['0123456789', 'wxyz', '']);
});
