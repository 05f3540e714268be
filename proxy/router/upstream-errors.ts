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

// A response the codec could not parse: undici's HTTPParserError (its code, HPE_*, is not always
// set), headers over the limit, a body longer or shorter than its content-length.
const PROTOCOL_ERRORS = new Set(['UND_ERR_HEADERS_OVERFLOW', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH']);

export function resetReasonOf(err: Error & { code?: string }): ResetReason {
  const code = err.code;
  if (code !== undefined && CONNECT_FAILURES.has(code)) return 'connect-failure';
  if (err.name === 'HTTPParserError' || (code !== undefined && PROTOCOL_ERRORS.has(code))) return 'protocol-error';
  return 'reset';
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
