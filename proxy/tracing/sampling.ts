// Envoy's tracing decision for a downstream request (ConnectionManagerUtility::
// mutateTracingRequestHeader, then TracerUtility::shouldTraceRequest). A request whose
// x-request-id already says it is traced stays traced (an earlier Envoy decided). Otherwise, in
// order: x-client-trace-id with client_sampling (a fresh draw) -> client; x-envoy-force-trace
// (which only an internal request keeps) -> forced; random_sampling against the request id's value
// modulo 10000 -> sampled. Then overall_sampling, against the same value, can still say no. The
// verdict is written back into the x-request-id, which goes upstream. The request id extension
// can turn both off: without pack_trace_reason the id carries no status (none is read, none
// written); without use_request_id_for_trace_sampling every request counts as sampled here and the
// tracer decides (a B3 or traceparent sampling flag, else sampled).
import type { HeaderMap } from '../codec/index.ts';
import { requestIdInteger, traceStatus, withTraceStatus, type TraceStatus } from './request-id.ts';
import type { TraceDecision } from './span.ts';

export interface SamplingPercents {
  clientSamplingPercent: number;
  randomSamplingPercent: number;
  overallSamplingPercent: number;
}

/** The UUID request id extension's switches (both true by default). */
export interface RequestIdOptions {
  packTraceReason: boolean;
  useRequestIdForTraceSampling: boolean;
}

// Envoy turns a Percent into a fraction of 10000 and compares the value modulo 10000 with it.
function enabled(percent: number, value: number): boolean {
  return value % 10000 < Math.round(percent * 100);
}

/** Decides and records the trace status in x-request-id; returns the decision. */
export function decideTracing(headers: HeaderMap, sampling: SamplingPercents, requestIds: RequestIdOptions, healthCheck: boolean): TraceDecision {
  const requestId = headers['x-request-id'];
  let status: TraceStatus = 'no_trace';
  if (!requestIds.useRequestIdForTraceSampling) status = 'sampled';
  else if (typeof requestId === 'string') {
    const value = requestIdInteger(requestId);
    if (value !== undefined) {
      const pack = requestIds.packTraceReason;
      status = pack ? traceStatus(requestId) : 'no_trace';
      if (status === 'no_trace') {
        if (headers['x-client-trace-id'] !== undefined && enabled(sampling.clientSamplingPercent, Math.floor(Math.random() * 10000))) status = 'client';
        else if (headers['x-envoy-force-trace'] !== undefined) status = 'forced';
        else if (enabled(sampling.randomSamplingPercent, value)) status = 'sampled';
      }
      if (status !== 'no_trace' && !enabled(sampling.overallSamplingPercent, value)) status = 'no_trace';
      const updated = pack ? withTraceStatus(requestId, status) : requestId;
      if (updated !== requestId) headers['x-request-id'] = updated;
    }
  }
  if (healthCheck) return { reason: 'health_check', traced: false };
  switch (status) {
    case 'client':
      return { reason: 'client_enabled', traced: true };
    case 'forced':
      return { reason: 'service_forced', traced: true };
    case 'sampled':
      return { reason: 'random_sampling', traced: true };
    default:
      return { reason: 'not_traceable', traced: false };
  }
}
