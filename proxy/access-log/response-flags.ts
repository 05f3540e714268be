// Envoy's response flags as bits of one number, so setting one on the hot path is an OR. The
// order is Envoy's (ResponseFlagUtils::ALL_RESPONSE_STRINGS_FLAGS): %RESPONSE_FLAGS% lists the set
// flags in it, comma-separated, or '-' when none is set.

export const RESPONSE_FLAG_NAMES = [
  'LH', // failed local health check
  'UH', // no healthy upstream
  'UT', // upstream request timeout
  'LR', // local reset
  'UR', // upstream remote reset
  'UF', // upstream connection failure
  'UC', // upstream connection termination
  'UO', // upstream overflow (circuit breaker)
  'NR', // no route
  'DI', // delay injected
  'FI', // fault injected
  'RL', // rate limited
  'UAEX', // unauthorized by external service
  'RLSE', // rate limit service error
  'DC', // downstream connection termination
  'URX', // upstream retry limit exceeded
  'SI', // stream idle timeout
  'IH', // invalid Envoy request headers
  'DPE', // downstream protocol error
  'UMSDR', // upstream max stream duration reached
  'RFCF', // response from cache filter
  'NFCF', // no filter config found
  'DT', // duration timeout
  'UPE', // upstream protocol error
  'NC', // no cluster found
  'OM', // overload manager
  'DF', // DNS resolution failed
  'DO', // drop overload
  'DR', // downstream remote reset
  'UDO', // unconditional drop overload
] as const;

export type ResponseFlagName = (typeof RESPONSE_FLAG_NAMES)[number];

const BITS: Record<string, number> = Object.create(null);
RESPONSE_FLAG_NAMES.forEach((name, i) => {
  BITS[name] = 1 << i;
});

/** The bit of a short flag name, or 0 for a name Envoy does not have. */
export function responseFlagBit(name: string): number {
  return BITS[name] ?? 0;
}

/** Envoy's short string: 'UF,URX', or '-' when no flag is set. */
export function formatResponseFlags(bits: number): string {
  if (bits === 0) return '-';
  let out = '';
  for (let i = 0; i < RESPONSE_FLAG_NAMES.length; i++) {
    if ((bits & (1 << i)) !== 0) out += out === '' ? RESPONSE_FLAG_NAMES[i] : ',' + RESPONSE_FLAG_NAMES[i];
  }
  return out;
}
