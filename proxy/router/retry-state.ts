// The per-request half of retries: it reads the immutable RetryPolicy built at config time and
// counts what this request has used. Semantics are Envoy's x-envoy-retry-on conditions.
import type { RetryPolicy } from '../config/model.ts';
import { GrpcStatus, grpcStatusOf } from '../grpc/index.ts';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

type HeaderMap = IncomingHttpHeaders | OutgoingHttpHeaders;

/** Why an attempt failed without a usable response. */
export type ResetReason = 'connect-failure' | 'reset' | 'protocol-error' | 'per-try-timeout' | 'refused-stream' | 'overflow';

export class RetryState {
  private readonly policy: RetryPolicy;
  private readonly retryOn: ReadonlySet<string>;
  private remaining: number;
  private attempt = 0;

  constructor(policy: RetryPolicy, retryOn: ReadonlySet<string>, numRetries: number) {
    this.policy = policy;
    this.retryOn = retryOn;
    this.remaining = numRetries;
  }

  /** Builds the state from the route's policy and, from trusted downstreams, Envoy's request headers. */
  static create(policy: RetryPolicy | undefined, headers: HeaderMap, trustHeaders: boolean): RetryState | null {
    let retryOn = policy === undefined ? NO_CONDITIONS : conditionsOf(policy);
    let numRetries = policy?.numRetries ?? 1;
    if (trustHeaders) {
      // Both headers add to the route's conditions, the HTTP ones and the gRPC ones respectively
      // (Envoy's parseRetryOn / parseRetryGrpcOn).
      const headerOn = headers['x-envoy-retry-on'];
      if (headerOn !== undefined) retryOn = new Set([...retryOn, ...tokens(headerOn).filter((c) => !GRPC_CONDITIONS.has(c))]);
      const headerGrpcOn = headers['x-envoy-retry-grpc-on'];
      if (headerGrpcOn !== undefined) retryOn = new Set([...retryOn, ...tokens(headerGrpcOn).filter((c) => GRPC_CONDITIONS.has(c))]);
      const headerMax = headers['x-envoy-max-retries'];
      if (headerMax !== undefined && /^\d+$/.test(String(headerMax))) numRetries = Number(headerMax);
    }
    if (retryOn.size === 0 || numRetries <= 0) return null;
    return new RetryState(policy ?? defaultPolicy(), retryOn, numRetries);
  }


  get hostSelectionMaxAttempts(): number {
    return this.policy.hostSelectionRetryMaxAttempts;
  }

  get avoidPreviousHosts(): boolean {
    return this.policy.retryHostPredicates.includes('envoy.retry_host_predicates.previous_hosts');
  }

  /** Whether a response with this status (and headers) is to be retried. */
  retriableResponse(status: number, headers: HeaderMap): boolean {
    const on = this.retryOn;
    // An answer an upstream Envoy rate limited is retried for envoy-ratelimited only, whatever its status.
    if (headers['x-envoy-ratelimited'] !== undefined) return on.has('envoy-ratelimited');
    if (status >= 500 && on.has('5xx')) return true;
    if ((status === 502 || status === 503 || status === 504) && on.has('gateway-error')) return true;
    if (status === 409 && on.has('retriable-4xx')) return true;
    if (on.has('retriable-status-codes') && this.policy.retriableStatusCodes.includes(status)) return true;
    if (on.has('retriable-headers') && this.policy.retriableHeaders.length > 0) {
      for (const m of this.policy.retriableHeaders) {
        const v = headers[m.name];
        if (v === undefined) continue;
        if (m.kind === 'present' || (m.kind === 'exact' && String(v) === m.value)) return !m.invertMatch;
      }
    }
    // gRPC conditions read grpc-status from the headers only (a trailers-only answer), as Envoy:
    // a status in the trailers comes after the response has started and is not retried.
    const grpcStatus = grpcStatusOf(headers);
    if (grpcStatus !== undefined) {
      const condition = GRPC_CONDITION_OF[grpcStatus];
      if (condition !== undefined && on.has(condition)) return true;
    }
    return false;
  }

  /**
   * Whether a failure without response headers is to be retried; requestStarted: the request's
   * headers went to the upstream (reset-before-request retries only when they did not).
   */
  retriableReset(reason: ResetReason, requestStarted: boolean): boolean {
    const on = this.retryOn;
    if (reason === 'overflow') return false;
    if (!requestStarted && on.has('reset-before-request')) return true;
    if (on.has('5xx') || on.has('gateway-error')) return true;
    if (reason === 'connect-failure') return on.has('connect-failure') || on.has('reset');
    if (reason === 'refused-stream') return on.has('refused-stream') || on.has('reset');
    return on.has('reset');
  }

  /** Takes one retry if any is left. */
  takeRetry(): boolean {
    if (this.remaining <= 0) return false;
    this.remaining--;
    this.attempt++;
    return true;
  }

  /** Full-jitter exponential back-off: uniform in [0, min(max, base * (2^n - 1))]. */
  backOffMs(random: () => number = Math.random): number {
    const { baseIntervalMs, maxIntervalMs } = this.policy.backOff;
    const ceiling = Math.min(maxIntervalMs, baseIntervalMs * (2 ** this.attempt - 1));
    return Math.floor(random() * (ceiling + 1));
  }
}

// retry_on's gRPC conditions by the grpc-status they retry.
const GRPC_CONDITION_OF: Record<number, string> = {
  [GrpcStatus.Canceled]: 'cancelled',
  [GrpcStatus.DeadlineExceeded]: 'deadline-exceeded',
  [GrpcStatus.Internal]: 'internal',
  [GrpcStatus.ResourceExhausted]: 'resource-exhausted',
  [GrpcStatus.Unavailable]: 'unavailable',
};
const GRPC_CONDITIONS: ReadonlySet<string> = new Set(Object.values(GRPC_CONDITION_OF));

function tokens(value: string | string[] | number): string[] {
  return String(value)
    .split(',')
    .map((s) => s.trim());
}

// A policy's retry_on as a set, built once per policy (policies are immutable per snapshot).
const NO_CONDITIONS: ReadonlySet<string> = new Set();
const conditionSets = new WeakMap<RetryPolicy, ReadonlySet<string>>();

function conditionsOf(policy: RetryPolicy): ReadonlySet<string> {
  let set = conditionSets.get(policy);
  if (set === undefined) {
    set = new Set(policy.retryOn);
    conditionSets.set(policy, set);
  }
  return set;
}

/** The mesh default a sidecar gives routes without a policy: retry_on 5xx, three retries. */
export function meshRetryPolicy(): RetryPolicy {
  return { ...defaultPolicy(), retryOn: ['5xx'], numRetries: 3 };
}

function defaultPolicy(): RetryPolicy {
  return {
    retryOn: [],
    numRetries: 1,
    perTryTimeoutMs: 0,
    perTryIdleTimeoutMs: 0,
    backOff: { baseIntervalMs: 25, maxIntervalMs: 250 },
    retriableStatusCodes: [],
    retriableHeaders: [],
    retriableRequestHeaders: [],
    retryHostPredicates: [],
    hostSelectionRetryMaxAttempts: 1,
  };
}
