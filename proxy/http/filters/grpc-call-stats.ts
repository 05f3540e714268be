// Envoy's Grpc::ContextImpl stat charging, shared by the filters that count gRPC calls (grpc_stats
// under cluster.<name>.grpc., grpc_web under cluster.<name>.grpc-web.): <status> (0-16, else
// other), success or failure, total, charged from the headers or trailers carrying grpc-status.
import type { HeaderMap } from '../../codec/index.ts';
import { GrpcStatus } from '../../grpc/index.ts';
import type { Store } from '../../stats/index.ts';

/** /<service>/<method>, query left out (Envoy's resolveServiceAndMethod); anything else is not a gRPC method path. */
export function grpcServiceAndMethod(path: string): { service: string; method: string } | undefined {
  const q = path.indexOf('?');
  const parts = (q < 0 ? path : path.slice(0, q)).split('/').filter((p) => p !== '');
  return parts.length === 2 ? { service: parts[0], method: parts[1] } : undefined;
}

/** Charges a call's status under `prefix` when these headers carry a grpc-status; false when they do not. */
export function chargeGrpcStatus(store: Store, prefix: string, headers: HeaderMap): boolean {
  let status = headers['grpc-status'];
  if (Array.isArray(status)) status = status[0];
  if (status === undefined) return false;
  const known = /^\d+$/.test(status) && Number(status) <= GrpcStatus.Unauthenticated && String(Number(status)) === status;
  store.counter(prefix + (known ? status : 'other')).inc();
  store.counter(prefix + (status === '0' ? 'success' : 'failure')).inc();
  store.counter(prefix + 'total').inc();
  return true;
}
