import t from 'tap';
import type { HeaderMap } from '../../../proxy/codec/index.ts';
import { routeTimeoutMs, setGrpcTimeoutHeader, streamDuration } from '../../../proxy/router/timeouts.ts';
import { routeAction } from './builders.ts';

t.test('the route timeout, and max_grpc_timeout for gRPC requests', async (t) => {
  const plain = routeAction({ timeoutMs: 15000 });
  t.equal(routeTimeoutMs(plain, { 'grpc-timeout': '1S' }, true), 15000, 'without max_grpc_timeout grpc-timeout does not count');
  const capped = routeAction({ timeoutMs: 15000, maxGrpcTimeoutMs: 5000 });
  t.equal(routeTimeoutMs(capped, { 'grpc-timeout': '1S' }, false), 15000, 'not a gRPC request');
  t.equal(routeTimeoutMs(capped, { 'grpc-timeout': '1S' }, true), 1000, 'the header');
  t.equal(routeTimeoutMs(capped, { 'grpc-timeout': '10S' }, true), 5000, 'capped');
  t.equal(routeTimeoutMs(capped, {}, true), 5000, 'no header is infinite, then capped');
  t.equal(routeTimeoutMs(capped, { 'grpc-timeout': 'soon' }, true), 5000, 'an invalid header is no header');
  const uncapped = routeAction({ timeoutMs: 15000, maxGrpcTimeoutMs: 0 });
  t.equal(routeTimeoutMs(uncapped, {}, true), 0, '0 max: infinite');
  t.equal(routeTimeoutMs(uncapped, { 'grpc-timeout': '30S' }, true), 30000);
  const offset = routeAction({ maxGrpcTimeoutMs: 0, grpcTimeoutOffsetMs: 100 });
  t.equal(routeTimeoutMs(offset, { 'grpc-timeout': '1S' }, true), 900, 'offset taken off');
  t.equal(routeTimeoutMs(offset, { 'grpc-timeout': '100m' }, true), 100, 'never down to 0');
  t.equal(routeTimeoutMs(routeAction({ timeoutMs: 15000, usingNewTimeouts: true }), {}, false), 0, 'max_stream_duration set: no route timeout');
});

t.test('max_grpc_timeout rewrites the grpc-timeout sent upstream', async (t) => {
  const capped = routeAction({ maxGrpcTimeoutMs: 5000 });
  const headers: HeaderMap = { 'grpc-timeout': '10S' };
  setGrpcTimeoutHeader(capped, headers, true, 5000);
  t.equal(headers['grpc-timeout'], '5000m');
  const infinite: HeaderMap = { 'grpc-timeout': 'x' };
  setGrpcTimeoutHeader(routeAction({ maxGrpcTimeoutMs: 0 }), infinite, true, 0);
  t.equal(infinite['grpc-timeout'], 'x', 'an infinite timeout leaves it');
  const plain: HeaderMap = { 'grpc-timeout': '10S' };
  setGrpcTimeoutHeader(routeAction(), plain, true, 15000);
  t.equal(plain['grpc-timeout'], '10S', 'without max_grpc_timeout it is left');
});

t.test('the stream duration: route, connection manager, grpc-timeout', async (t) => {
  t.equal(streamDuration(routeAction(), 0, {}, false), undefined, 'none anywhere');
  t.same(streamDuration(routeAction(), 3000, {}, false), { ms: 3000, source: 'connection-manager' });
  t.same(streamDuration(undefined, 3000, {}, false), { ms: 3000, source: 'connection-manager' }, 'a route without an action');
  const route = routeAction({ usingNewTimeouts: true, maxStreamDurationMs: 2000 });
  t.same(streamDuration(route, 3000, {}, false), { ms: 2000, source: 'route' });
  t.equal(streamDuration(routeAction({ usingNewTimeouts: true, maxStreamDurationMs: 0 }), 3000, {}, false), undefined, "a route's 0 turns the HCM's off");
  t.same(streamDuration(route, 3000, { 'grpc-timeout': '1S' }, true), { ms: 2000, source: 'route' }, 'grpc-timeout counts only with grpc_timeout_header_max');

  const grpc = routeAction({ usingNewTimeouts: true, maxStreamDurationMs: 2000, grpcTimeoutHeaderMaxMs: 5000 });
  const headers: HeaderMap = { 'grpc-timeout': '1S' };
  t.same(streamDuration(grpc, 0, headers, true), { ms: 1000, source: 'grpc-timeout' });
  t.equal(headers['grpc-timeout'], '1000m', 'written back');
  t.same(streamDuration(grpc, 0, { 'grpc-timeout': '9S' }, true), { ms: 5000, source: 'grpc-timeout' }, 'capped');
  t.same(streamDuration(grpc, 0, {}, true), { ms: 2000, source: 'route' }, 'no header: the route');
  const uncapped = routeAction({ usingNewTimeouts: true, grpcTimeoutHeaderMaxMs: 0, grpcTimeoutHeaderOffsetMs: 50 });
  t.same(streamDuration(uncapped, 0, { 'grpc-timeout': '9S' }, true), { ms: 8950, source: 'grpc-timeout' }, 'uncapped, less the offset');
  t.same(streamDuration(uncapped, 0, { 'grpc-timeout': '50m' }, true), { ms: 0, source: 'grpc-timeout' }, 'an offset past the timeout leaves nothing');
  const routeHeaders: HeaderMap = { 'grpc-timeout': '9S' };
  streamDuration(route, 0, routeHeaders, true);
  t.equal(routeHeaders['grpc-timeout'], '2000m', "a gRPC request on such a route hears the route's limit");
  const plainHeaders: HeaderMap = { 'grpc-timeout': '9S' };
  streamDuration(routeAction(), 3000, plainHeaders, true);
  t.equal(plainHeaders['grpc-timeout'], '9S', 'without max_stream_duration on the route it is left');
});
