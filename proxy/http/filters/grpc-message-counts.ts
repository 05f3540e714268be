// The grpc_stats filter's per-stream message counts (Envoy's filter state
// "envoy.filters.http.grpc_stats", set with emit_filter_state), which istio.stats reads for
// istio_request_messages_total and istio_response_messages_total.
export interface GrpcMessageCounts {
  request: number;
  response: number;
}

const counts = new WeakMap<object, GrpcMessageCounts>();

export function recordGrpcMessages(stream: object, side: keyof GrpcMessageCounts, n: number): void {
  let entry = counts.get(stream);
  if (entry === undefined) counts.set(stream, (entry = { request: 0, response: 0 }));
  entry[side] += n;
}

/** The stream's counts, when a grpc_stats filter with emit_filter_state counted it. */
export function grpcMessageCounts(stream: object): GrpcMessageCounts | undefined {
  return counts.get(stream);
}
