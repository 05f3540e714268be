import t from 'tap';
import { grpcLocalReplyHeaders, percentEncode } from '../../../proxy/http/grpc-local-reply.ts';

t.test('a gRPC local reply is trailers-only with the status mapped from HTTP', async (t) => {
  t.same(grpcLocalReplyHeaders(503, 'no healthy upstream', undefined, undefined, false), {
    'content-type': 'application/grpc',
    'grpc-status': '14',
    'grpc-message': 'no healthy upstream',
  });
  t.same(grpcLocalReplyHeaders(404, '', undefined, undefined, false), { 'content-type': 'application/grpc', 'grpc-status': '12' }, 'no body: no grpc-message');
});

t.test("the caller's gRPC status, headers and grpc-status win; content-length goes", async (t) => {
  const extra = { 'x-envoy-ratelimited': 'true', 'content-length': '5', 'content-type': 'text/plain' };
  const out = grpcLocalReplyHeaders(429, 'local_rate_limited', 8, extra, false);
  t.same(out, { 'x-envoy-ratelimited': 'true', 'content-type': 'application/grpc', 'grpc-status': '8', 'grpc-message': 'local_rate_limited' });
  t.equal(extra['content-length'], '5', "the caller's map is not changed");
  t.equal(grpcLocalReplyHeaders(503, '', undefined, { 'grpc-status': '9' }, false)['grpc-status'], '9');
});

t.test('a HEAD request gets no grpc-message', async (t) => {
  t.equal(grpcLocalReplyHeaders(503, 'no healthy upstream', undefined, undefined, true)['grpc-message'], undefined);
});

t.test("grpc-message is percent-encoded as Envoy's PercentEncoding::encode", async (t) => {
  t.equal(percentEncode('upstream request timeout'), 'upstream request timeout');
  t.equal(percentEncode('100% done'), '100%25 done');
  t.equal(percentEncode('a\nb\tc'), 'a%0Ab%09c');
  t.equal(percentEncode('tilde~'), 'tilde%7E');
  t.equal(percentEncode('café'), 'caf%C3%A9');
  t.equal(percentEncode('{"json": [1]}'), '{"json": [1]}');
});
