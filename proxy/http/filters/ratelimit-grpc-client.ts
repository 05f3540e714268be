// The gRPC rate limit service, as Envoy deploys envoyproxy/ratelimit: a unary
// envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit on the rate_limit_service's
// envoy_grpc cluster, through Legate's own cluster manager (upstream/grpc-unary-client.ts). The
// filter's `timeout` bounds the call (and goes out as grpc-timeout). Any failure (unreachable, a
// gRPC error, a reset, the timeout, an unreadable answer) is an Error. overall_code OVER_LIMIT is
// over the limit; OK and UNKNOWN let the request on, as Envoy's release builds do. The answer's
// dynamic_metadata becomes the request's, under envoy.filters.http.ratelimit.
import { GrpcUnaryClient, protoMessages, type Cancellable, type ClusterManager, type GrpcTarget } from '../../upstream/index.ts';
import type { Descriptor } from '../../ratelimit/index.ts';
import { fromProtoStruct, type ProtoStruct } from './proto-struct.ts';
import { LIMIT_ERROR, type HeaderList, type LimitAnswer, type LimitStatus, type RateLimitClient } from './ratelimit-client.ts';

const SHOULD_RATE_LIMIT_PATH = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';

const rlsMessages = protoMessages('envoy/service/ratelimit/v3/rls.proto', 'envoy.service.ratelimit.v3.RateLimitRequest', 'envoy.service.ratelimit.v3.RateLimitResponse');

/** RateLimitResponse.RateLimit.Unit -> the window in seconds Envoy's x-ratelimit headers name; 0: none. */
const UNIT_WINDOW_SECONDS: Readonly<Record<string, number>> = { SECOND: 1, MINUTE: 60, HOUR: 3600, DAY: 86400 };

interface ResponseMessage {
  overall_code?: string;
  statuses?: {
    current_limit?: { name?: string; requests_per_unit?: number; unit?: string };
    limit_remaining?: number;
    duration_until_reset?: { seconds?: number };
  }[];
  response_headers_to_add?: { key?: string; value?: string }[];
  request_headers_to_add?: { key?: string; value?: string }[];
  raw_body?: Uint8Array;
  dynamic_metadata?: ProtoStruct;
}

export class GrpcRateLimitClient implements RateLimitClient {
  private readonly client: GrpcUnaryClient;
  private readonly timeoutMs: number;

  constructor(clusters: ClusterManager, target: GrpcTarget, timeoutMs: number) {
    this.client = new GrpcUnaryClient(clusters, target, SHOULD_RATE_LIMIT_PATH, rlsMessages, { enums: String, longs: Number });
    this.timeoutMs = timeoutMs;
  }

  limit(domain: string, descriptors: readonly Descriptor[], done: (answer: LimitAnswer) => void): Cancellable {
    // hits_addend 1: each request is one hit (envoyproxy/ratelimit reads an unset 0 the same way).
    const request = { domain, descriptors: descriptors.map((entries) => ({ entries })), hits_addend: 1 };
    return this.client.call(request, this.timeoutMs, (answer) => done(answer === undefined ? LIMIT_ERROR : this.toAnswer(answer as ResponseMessage)));
  }

  private toAnswer(message: ResponseMessage): LimitAnswer {
    const statuses: LimitStatus[] = (message.statuses ?? []).map((status) => {
      const limit = status.current_limit;
      return {
        limit: limit === undefined ? undefined : { requestsPerUnit: limit.requests_per_unit ?? 0, windowSeconds: UNIT_WINDOW_SECONDS[limit.unit ?? ''] ?? 0, name: limit.name ?? '' },
        remaining: status.limit_remaining ?? 0,
        resetSeconds: status.duration_until_reset?.seconds ?? 0,
      };
    });
    const raw = message.raw_body;
    return {
      code: message.overall_code === 'OVER_LIMIT' ? 'over_limit' : 'ok',
      statuses,
      responseHeadersToAdd: headerList(message.response_headers_to_add),
      requestHeadersToAdd: headerList(message.request_headers_to_add),
      body: raw === undefined || raw.length === 0 ? '' : Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('utf8'),
      dynamicMetadata: message.dynamic_metadata === undefined ? undefined : fromProtoStruct(message.dynamic_metadata),
    };
  }
}

function headerList(values: ResponseMessage['response_headers_to_add']): HeaderList {
  const out: HeaderList = [];
  for (const { key, value } of values ?? []) if (key !== undefined && key !== '') out.push([key.toLowerCase(), value ?? '']);
  return out;
}
