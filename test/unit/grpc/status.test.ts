import t from 'tap';
import { GrpcStatus, INVALID_GRPC_STATUS, grpcStatusCamelName, grpcStatusOf, grpcStatusSnakeName, httpToGrpcStatus } from '../../../proxy/grpc/index.ts';

t.test("HTTP statuses map to gRPC's as Envoy's httpToGrpcStatus", async (t) => {
  const table: [number, number][] = [
    [400, GrpcStatus.Internal],
    [401, GrpcStatus.Unauthenticated],
    [403, GrpcStatus.PermissionDenied],
    [404, GrpcStatus.Unimplemented],
    [429, GrpcStatus.Unavailable],
    [502, GrpcStatus.Unavailable],
    [503, GrpcStatus.Unavailable],
    [504, GrpcStatus.Unavailable],
    [408, GrpcStatus.Unknown],
    [500, GrpcStatus.Unknown],
    [200, GrpcStatus.Unknown],
  ];
  for (const [http, grpc] of table) t.equal(httpToGrpcStatus(http), grpc, `${http} -> ${grpc}`);
  t.equal(GrpcStatus.Unavailable, 14);
  t.equal(GrpcStatus.DeadlineExceeded, 4);
  t.equal(GrpcStatus.Unauthenticated, 16);
});

t.test('grpc-status is read as Envoy reads it', async (t) => {
  t.equal(grpcStatusOf(undefined), undefined);
  t.equal(grpcStatusOf({}), undefined);
  t.equal(grpcStatusOf({ 'grpc-status': '' }), undefined, 'empty is absent');
  t.equal(grpcStatusOf({ 'grpc-status': '14' }), 14);
  t.equal(grpcStatusOf({ 'grpc-status': ['0', '2'] }), 0, 'the first of several');
  t.equal(grpcStatusOf({ 'grpc-status': 'abc' }), INVALID_GRPC_STATUS);
  t.equal(grpcStatusOf({ 'grpc-status': '-1' }), INVALID_GRPC_STATUS);
  t.equal(grpcStatusOf({ 'grpc-status': '17' }), INVALID_GRPC_STATUS, 'above the known codes');
  t.equal(grpcStatusOf({ 'grpc-status': '17' }, true), 17, 'user-defined codes allowed');
});

t.test('status names: camel (Envoy) and snake (absl)', async (t) => {
  t.equal(grpcStatusCamelName(0), 'Ok');
  t.equal(grpcStatusCamelName(1), 'Canceled');
  t.equal(grpcStatusCamelName(14), 'Unavailable');
  t.equal(grpcStatusCamelName(4), 'DeadlineExceeded');
  t.equal(grpcStatusCamelName(17), '17');
  t.equal(grpcStatusCamelName(INVALID_GRPC_STATUS), '-1');
  t.equal(grpcStatusSnakeName(0), 'OK');
  t.equal(grpcStatusSnakeName(1), 'CANCELLED');
  t.equal(grpcStatusSnakeName(4), 'DEADLINE_EXCEEDED');
  t.equal(grpcStatusSnakeName(16), 'UNAUTHENTICATED');
  t.equal(grpcStatusSnakeName(42), '42');
});
