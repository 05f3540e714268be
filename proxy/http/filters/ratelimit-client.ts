// What the ratelimit filter asks of a rate limit service, whichever answers (Envoy's
// Filters::Common::RateLimit::Client): one ShouldRateLimit per request, answered OK, OVER_LIMIT or
// Error, with each descriptor's status (for the x-ratelimit-* headers) and what the service wants
// added to the request and the response. Two services: Legate's embedded one (node.metadata
// "legate.ratelimit", adapted here) and a gRPC RateLimitService (ratelimit-grpc-client.ts).
import type { Descriptor, RateLimitResponse, RateLimitService } from '../../ratelimit/index.ts';
import { UNIT_SECONDS } from '../../ratelimit/index.ts';
import type { Cancellable } from '../../upstream/index.ts';
import type { MetadataStruct } from '../../config/model.ts';

export type HeaderList = [name: string, value: string][];

/** One descriptor's answer (RateLimitResponse.DescriptorStatus). */
export interface LimitStatus {
  /** current_limit; windowSeconds is 0 for a unit without a fixed window (MONTH, YEAR, UNKNOWN). */
  limit: { requestsPerUnit: number; windowSeconds: number; name: string } | undefined;
  remaining: number;
  resetSeconds: number;
}

export interface LimitAnswer {
  code: 'ok' | 'over_limit' | 'error';
  statuses: LimitStatus[];
  /** Added to the response: the upstream's on OK, the 429 when over the limit. */
  responseHeadersToAdd: HeaderList;
  /** Added to the request on its way upstream (OK only). */
  requestHeadersToAdd: HeaderList;
  /** raw_body: the body of the 429. */
  body: string;
  /** dynamic_metadata's fields, for the request's metadata under envoy.filters.http.ratelimit. */
  dynamicMetadata?: MetadataStruct;
}

export interface RateLimitClient {
  /** `done` is called exactly once (possibly before limit() returns) unless the handle is cancelled first. */
  limit(domain: string, descriptors: readonly Descriptor[], done: (answer: LimitAnswer) => void): Cancellable;
}

export const LIMIT_ERROR: LimitAnswer = Object.freeze({ code: 'error', statuses: [], responseHeadersToAdd: [], requestHeadersToAdd: [], body: '' }) as LimitAnswer;

const DONE: Cancellable = { cancel() {} };

/** The embedded service of node.metadata["legate.ratelimit"]; it adds no headers and no body. */
export class EmbeddedRateLimitClient implements RateLimitClient {
  private readonly service: RateLimitService;
  private readonly timeoutMs: number;

  constructor(service: RateLimitService, timeoutMs: number) {
    this.service = service;
    this.timeoutMs = timeoutMs;
  }

  limit(domain: string, descriptors: readonly Descriptor[], done: (answer: LimitAnswer) => void): Cancellable {
    let answer: RateLimitResponse | Promise<RateLimitResponse>;
    try {
      answer = this.service.shouldRateLimit(domain, descriptors, this.timeoutMs);
    } catch {
      done(LIMIT_ERROR);
      return DONE;
    }
    if (!(answer instanceof Promise)) {
      done(fromEmbedded(answer));
      return DONE;
    }
    // The counter store's call runs to its end; a cancelled stream just stops listening.
    let listening = true;
    answer.then(
      (response) => {
        if (listening) done(fromEmbedded(response));
      },
      () => {
        if (listening) done(LIMIT_ERROR);
      },
    );
    return { cancel: () => (listening = false) };
  }
}

function fromEmbedded(response: RateLimitResponse): LimitAnswer {
  return {
    code: response.overLimit ? 'over_limit' : 'ok',
    statuses: response.statuses.map((s) => ({
      limit: s.limit === undefined ? undefined : { requestsPerUnit: s.limit.requestsPerUnit, windowSeconds: UNIT_SECONDS[s.limit.unit], name: s.limit.name },
      remaining: s.remaining,
      resetSeconds: s.resetSeconds,
    })),
    responseHeadersToAdd: [],
    requestHeadersToAdd: [],
    body: '',
  };
}
