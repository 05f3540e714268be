// The fuzzers' oracles must be able to fail: the strict parser refuses ambiguous framing, and the
// HTTP/1 connection check flags responses that do not match what the upstream received.
import t from 'tap';
import { StrictParseError, StrictParser } from '../../fuzz/strict-parser.ts';
import { checkCase } from '../../fuzz/http1/fuzzer.ts';
import type { Http1Case } from '../../fuzz/http1/generate.ts';
import type { UpstreamRequest } from '../../fuzz/recording-upstream.ts';

const parse = (text: string) => new StrictParser('request').feed(Buffer.from(text, 'latin1'));

t.test('the strict parser takes clean pipelined requests', async (t) => {
  const messages = parse('POST /a HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabcPOST /b HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-t: 1\r\n\r\nGET /c HTTP/1.1\r\n\r\n');
  t.same(messages.map((m) => [m.head.startLine[1], m.body.toString(), m.trailers]), [['/a', 'abc', []], ['/b', 'abc', [['x-t', '1']]], ['/c', '', []]]);
});

t.test('the strict parser refuses ambiguous or sloppy framing', async (t) => {
  const bad = {
    'CL and TE': 'POST / HTTP/1.1\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n',
    'two CLs': 'POST / HTTP/1.1\r\ncontent-length: 3\r\ncontent-length: 3\r\n\r\nabc',
    'CL list': 'POST / HTTP/1.1\r\ncontent-length: 3, 3\r\n\r\nabc',
    'TE not chunked': 'POST / HTTP/1.1\r\ntransfer-encoding: gzip, chunked\r\n\r\n',
    'bare LF': 'GET / HTTP/1.1\nhost: x\n\n',
    'obs-fold': 'GET / HTTP/1.1\r\nx-a: 1\r\n 2\r\n\r\n',
    'space before colon': 'GET / HTTP/1.1\r\nx-a : 1\r\n\r\n',
    'NUL in a value': 'GET / HTTP/1.1\r\nx-a: a\0b\r\n\r\n',
    'chunk extension': 'POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\n',
    'HTTP/1.0 upstream': 'GET / HTTP/1.0\r\n\r\n',
  };
  for (const [name, text] of Object.entries(bad)) {
    let error: unknown;
    try {
      parse(text);
    } catch (err) {
      error = err;
    }
    t.ok(error instanceof StrictParseError, `${name}: ${(error as Error | undefined)?.message}`);
  }
});

const upstream = (seq: number, path: string): UpstreamRequest => ({ seq, at: 0, conn: '1', method: 'GET', path, message: { head: { startLine: ['GET', path, 'HTTP/1.1'], headers: [] }, body: Buffer.alloc(0), trailers: [] } });
const exchange = (responses: { status: number; seq?: number; close?: boolean }[]) => ({
  localPort: 1,
  responses: responses.map((r) => ({ status: r.status, seq: r.seq, close: r.close ?? false })),
  responseFault: undefined,
  afterClose: false,
  closedByPeer: true,
  connectError: undefined,
  endedAt: 1,
});
const twoRequests = (second: 'serve' | 'reject'): Http1Case => ({
  index: 0,
  requests: [{ note: 'valid GET', expect: 'serve', last: false }, { note: 'cl-te', expect: second, last: second === 'reject' }],
  input: Buffer.alloc(0),
  splits: [],
  mutated: false,
});

t.test('the HTTP/1 connection check', async (t) => {
  t.same(checkCase(twoRequests('serve'), { exchange: exchange([{ status: 200, seq: 1 }, { status: 200, seq: 2 }]), upstream: [upstream(1, '/fz/0/0'), upstream(2, '/fz/0/1')] }), [], 'served in order');
  t.same(checkCase(twoRequests('reject'), { exchange: exchange([{ status: 200, seq: 1 }, { status: 400, close: true }]), upstream: [upstream(1, '/fz/0/0')] }), [], 'rejected, not forwarded');
  const kinds = (c: Http1Case, ex: ReturnType<typeof exchange>, up: UpstreamRequest[]) => checkCase(c, { exchange: ex, upstream: up }).map((f) => f.kind);
  t.same(kinds(twoRequests('serve'), exchange([{ status: 200, seq: 2 }, { status: 200, seq: 1 }]), [upstream(1, '/fz/0/0'), upstream(2, '/fz/0/1')]), ['count-or-order'], 'responses out of order');
  t.same(kinds(twoRequests('serve'), exchange([{ status: 200, seq: 1 }]), [upstream(1, '/fz/0/0'), upstream(2, '/fz/0/1')]), ['count-or-order'], 'a forwarded request without its response');
  t.same(kinds(twoRequests('reject'), exchange([{ status: 200, seq: 1 }, { status: 200, seq: 2 }]), [upstream(1, '/fz/0/0'), upstream(2, '/fz/0/1')]), ['ambiguous-forwarded', 'expect-reject'], 'an ambiguous request forwarded');
  t.same(kinds(twoRequests('reject'), exchange([{ status: 200, seq: 1 }, { status: 400, close: false }]), [upstream(1, '/fz/0/0')]), ['expect-reject'], 'a rejection that keeps the connection');
  t.same(kinds(twoRequests('serve'), exchange([{ status: 200 }]), []), ['local-2xx'], 'a 2xx the upstream never sent');
});
