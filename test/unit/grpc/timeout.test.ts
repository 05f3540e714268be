import t from 'tap';
import { formatGrpcTimeout, isGrpcRequest, parseGrpcTimeout } from '../../../proxy/grpc/index.ts';

t.test('grpc-timeout values in every unit', async (t) => {
  t.equal(parseGrpcTimeout('10S'), 10_000);
  t.equal(parseGrpcTimeout('200m'), 200);
  t.equal(parseGrpcTimeout('3H'), 3 * 3_600_000);
  t.equal(parseGrpcTimeout('2M'), 120_000);
  t.equal(parseGrpcTimeout('5u'), 1, 'microseconds round up to a millisecond');
  t.equal(parseGrpcTimeout('1000u'), 1);
  t.equal(parseGrpcTimeout('1001u'), 2);
  t.equal(parseGrpcTimeout('1n'), 1, 'nanoseconds round up');
  t.equal(parseGrpcTimeout('0m'), 0);
  t.equal(parseGrpcTimeout('99999999S'), 99_999_999_000, 'eight digits');
});

t.test('invalid grpc-timeout values are ignored', async (t) => {
  for (const bad of [undefined, '', 'S', '10', '10s', '10 S', ' 10S', '+10S', '-1S', '1.5S', '123456789S', '10SS', '10X']) {
    t.equal(parseGrpcTimeout(bad), undefined, JSON.stringify(bad));
  }
  t.equal(parseGrpcTimeout(['1S', '2S']), undefined, 'a repeated header is not one value');
});

t.test('timeouts written back as Envoy writes them', async (t) => {
  t.equal(formatGrpcTimeout(0), '0m');
  t.equal(formatGrpcTimeout(1500), '1500m');
  t.equal(formatGrpcTimeout(99_999_999), '99999999m');
  t.equal(formatGrpcTimeout(100_000_000), '100000S', 'past 8 digits: seconds');
  t.equal(formatGrpcTimeout(100_000_000_000), '1666666M', 'then minutes');
  t.equal(formatGrpcTimeout(1e13), '2777777H', 'then hours');
  t.equal(formatGrpcTimeout(1e18), '99999999H', 'clipped to 8 digits of hours');
  for (const ms of [1, 250, 86_400_000, 99_999_999]) t.equal(parseGrpcTimeout(formatGrpcTimeout(ms)), ms, `${ms} ms round-trips`);
});

t.test('gRPC requests by content type and path', async (t) => {
  const req = (type: string | undefined, path = '/pkg.Svc/Method') => isGrpcRequest({ path, headers: { 'content-type': type } });
  t.ok(req('application/grpc'));
  t.ok(req('application/grpc+proto'));
  t.notOk(req('application/grpc-web'));
  t.notOk(req('application/grpc-web+proto'));
  t.notOk(req('application/json'));
  t.notOk(req(undefined));
  t.notOk(req('application/grpc', ''), 'no path');
});
