// How an upstream failure maps to Envoy's response: the reset reason, the local reply and flag.
import type { ResetReason } from './retry-state.ts';

const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
]);

export function resetReasonOf(err: Error & { code?: string }): ResetReason {
  return err.code !== undefined && CONNECT_FAILURES.has(err.code) ? 'connect-failure' : 'reset';
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
