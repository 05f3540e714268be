// How an upstream failure maps to Envoy's response: the reset reason, the local reply and flag.
import type { StreamResetReason } from '../codec/index.ts';
import type { PoolFailureReason } from '../upstream/index.ts';
import type { ResetReason } from './retry-state.ts';

/** A pool that could not give a connection: overflow (UO), else a connection failure (UF). */
export function poolFailureReason(reason: PoolFailureReason): ResetReason {
  return reason === 'overflow' ? 'overflow' : 'connect-failure';
}

/** An upstream stream that ended early, in retry_on's terms. */
export function streamResetReason(reason: StreamResetReason): ResetReason {
  switch (reason) {
    case 'connection-failure':
      return 'connect-failure';
    case 'protocol-error':
      return 'protocol-error';
    case 'refused-stream':
      return 'refused-stream';
    case 'overflow':
      return 'overflow';
    default:
      return 'reset';
  }
}

export interface LocalFailure {
  status: number;
  flag: string;
  body: string;
  details: string;
}

/** Envoy's local reply for an attempt that ended without response headers. */
export function failureReply(reason: ResetReason): LocalFailure {
  switch (reason) {
    case 'connect-failure':
      return {
        status: 503,
        flag: 'UF',
        body: 'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
        details: 'upstream_reset_before_response_started{connection_failure}',
      };
    case 'overflow':
      return {
        status: 503,
        flag: 'UO',
        body: 'upstream connect error or disconnect/reset before headers. reset reason: overflow',
        details: 'upstream_reset_before_response_started{overflow}',
      };
    case 'protocol-error':
      return {
        status: 503,
        flag: 'UPE',
        body: 'upstream connect error or disconnect/reset before headers. reset reason: protocol error',
        details: 'upstream_reset_before_response_started{protocol_error}',
      };
    case 'per-try-timeout':
      return { status: 504, flag: 'UT', body: 'upstream request timeout', details: 'upstream_per_try_timeout' };
    default:
      return {
        status: 503,
        flag: 'UC',
        body: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
        details: 'upstream_reset_before_response_started{connection_termination}',
      };
  }
}
