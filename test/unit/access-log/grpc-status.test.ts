import t from 'tap';
import { StreamInfo, compileFormat, validateFormat } from '../../../proxy/access-log/index.ts';

function info(fill: Partial<StreamInfo>): StreamInfo {
  const i = new StreamInfo(0, 0);
  i.path = '/pkg.Svc/Call';
  i.requestHeaders = { 'content-type': 'application/grpc' };
  i.responseCode = 200;
  return Object.assign(i, fill);
}

const line = (format: string, i: StreamInfo) => compileFormat({ kind: 'text', template: format })(i);

t.test('%GRPC_STATUS% from the trailers, else the headers, else the HTTP status', async (t) => {
  const trailers = info({ responseHeaders: { 'grpc-status': '2' }, responseTrailers: { 'grpc-status': '14' } });
  t.equal(line('%GRPC_STATUS%', trailers), 'Unavailable', 'trailers first');
  t.equal(line('%GRPC_STATUS%', info({ responseHeaders: { 'grpc-status': '4' } })), 'DeadlineExceeded', 'trailers-only');
  t.equal(line('%GRPC_STATUS%', info({ responseCode: 503, responseHeaders: {} })), 'Unavailable', 'mapped from 503');
  t.equal(line('%GRPC_STATUS%', info({ responseCode: 0 })), '-', 'no response');
  t.equal(line('%GRPC_STATUS%', info({ requestHeaders: { 'content-type': 'application/json' }, responseTrailers: { 'grpc-status': '0' } })), '-', 'not a gRPC request');
});

t.test('%GRPC_STATUS(...)% formats', async (t) => {
  const i = info({ responseTrailers: { 'grpc-status': '1' } });
  t.equal(line('%GRPC_STATUS(CAMEL_STRING)%', i), 'Canceled');
  t.equal(line('%GRPC_STATUS(SNAKE_STRING)%', i), 'CANCELLED');
  t.equal(line('%GRPC_STATUS(NUMBER)%', i), '1');
  t.equal(line('%GRPC_STATUS%', info({ responseTrailers: { 'grpc-status': '42' } })), '42', 'a user-defined code');
  t.equal(compileFormat({ kind: 'json', fields: { s: '%GRPC_STATUS(NUMBER)%' } })(i), '{"s":1}\n', 'a number in JSON');
  t.match(validateFormat('%GRPC_STATUS(LOUD)%'), /CAMEL_STRING, SNAKE_STRING or NUMBER/);
});
