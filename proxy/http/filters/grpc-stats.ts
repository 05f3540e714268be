// envoy.filters.http.grpc_stats: counters of gRPC calls in the scope of the cluster they go to
// (Envoy's grpc_stats filter and Grpc::ContextImpl): cluster.<name>.grpc.<service>.<method>.
// {<grpc-status>|other, success, failure, total, request_message_count, response_message_count},
// or without <service>.<method> for calls that stats_for_all_methods or the allowlist leave out.
// The status is charged from a trailers-only answer's headers or from the trailers.
import type { HeaderMap, ResponseHeaders } from '../../codec/index.ts';
import type { GrpcStatsConfig } from '../../config/model.ts';
import type { FilterStatus } from '../../http-filter/index.ts';
import { GrpcFrameCounter, hasGrpcContentType } from '../../grpc/index.ts';
import { chargeGrpcStatus, grpcServiceAndMethod } from './grpc-call-stats.ts';
import { recordGrpcMessages } from './grpc-message-counts.ts';
import type { Store } from '../../stats/index.ts';
import type { HttpStream } from '../stream.ts';
import type { FilterContext, HttpFilterInstance } from './filter-context.ts';

/** One call's tracking: where its counters live and its message counts. */
interface CallStats {
  prefix: string; // 'cluster.<name>.grpc.' or 'cluster.<name>.grpc.<service>.<method>.'
  requests: GrpcFrameCounter;
  responses: GrpcFrameCounter | null; // set once the response is gRPC
}

export class GrpcStatsFilter implements HttpFilterInstance {
  private readonly store: Store;
  private readonly clusterStatName: (cluster: string) => string | undefined;
  private readonly forAllMethods: boolean;
  private readonly replaceDots: boolean;
  private readonly emitFilterState: boolean;
  private readonly allowlist: ReadonlySet<string>; // 'service/method'
  private readonly calls = new WeakMap<HttpStream, CallStats>();

  constructor(config: GrpcStatsConfig, ctx: FilterContext) {
    this.store = ctx.store;
    this.clusterStatName = ctx.clusterStatName;
    this.forAllMethods = config.statsForAllMethods;
    this.replaceDots = config.replaceDotsInGrpcServiceName;
    this.emitFilterState = config.emitFilterState;
    this.allowlist = new Set(config.allowlist.flatMap((s) => s.methods.map((m) => `${s.service}/${m}`)));
  }

  decodeHeaders(stream: HttpStream): FilterStatus {
    if (!hasGrpcContentType(stream.headers['content-type'])) return 'continue';
    const cluster = stream.cluster === undefined ? undefined : this.clusterStatName(stream.cluster.name);
    // Only a path of the form /<service>/<method> is tracked (Envoy's resolveServiceAndMethod).
    const names = cluster === undefined ? undefined : grpcServiceAndMethod(stream.head.path);
    if (names === undefined) return 'continue';
    let prefix = `cluster.${cluster}.grpc.`;
    if (this.forAllMethods) prefix += `${this.replaceDots ? names.service.replaceAll('.', '_') : names.service}.${names.method}.`;
    else if (this.allowlist.has(`${names.service}/${names.method}`)) prefix += `${names.service}.${names.method}.`;
    this.calls.set(stream, { prefix, requests: new GrpcFrameCounter(), responses: null });
    return 'continue';
  }

  decodeData(stream: HttpStream, data: Buffer): FilterStatus {
    const call = this.calls.get(stream);
    if (call !== undefined) this.countMessages(stream, call, call.requests, data, 'request_message_count');
    return 'continue';
  }

  encodeHeaders(stream: HttpStream, response: ResponseHeaders, endStream: boolean): FilterStatus {
    const call = this.calls.get(stream);
    if (call === undefined) return 'continue';
    // Envoy's isGrpcResponseHeaders: trailers-only with a grpc-status, or a 200 of gRPC content.
    const grpc = endStream ? response.headers['grpc-status'] !== undefined : response.status === 200 && hasGrpcContentType(response.headers['content-type']);
    if (grpc) call.responses = new GrpcFrameCounter();
    this.chargeStatus(call, response.headers);
    return 'continue';
  }

  encodeData(stream: HttpStream, data: Buffer): FilterStatus {
    const call = this.calls.get(stream);
    if (call?.responses != null) this.countMessages(stream, call, call.responses, data, 'response_message_count');
    return 'continue';
  }

  encodeTrailers(stream: HttpStream, trailers: HeaderMap): FilterStatus {
    const call = this.calls.get(stream);
    if (call !== undefined) this.chargeStatus(call, trailers);
    return 'continue';
  }

  private countMessages(stream: HttpStream, call: CallStats, counter: GrpcFrameCounter, data: Buffer, stat: 'request_message_count' | 'response_message_count'): void {
    const delta = counter.inspect(data);
    if (delta <= 0) return;
    this.store.counter(call.prefix + stat).inc(delta);
    if (this.emitFilterState) recordGrpcMessages(stream, stat === 'request_message_count' ? 'request' : 'response', delta);
  }

  private chargeStatus(call: CallStats, headers: HeaderMap): void {
    chargeGrpcStatus(this.store, call.prefix, headers);
  }
}

export function createGrpcStatsFilter(config: unknown, ctx: FilterContext): HttpFilterInstance {
  return new GrpcStatsFilter(config as GrpcStatsConfig, ctx);
}
