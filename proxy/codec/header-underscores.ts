// Envoy's headers_with_underscores_action, applied by both server codecs to a request's header
// block before the stream exists: ALLOW passes names with '_' on, DROP_HEADER removes those
// headers (counted), REJECT_REQUEST refuses the request (HTTP/1: 400; HTTP/2: the stream is reset).
// Underscored names matter because CGI-style servers fold '-' and '_' into one name, so a client
// could smuggle a header past a check made on the dashed spelling.

interface Counter {
  inc(n?: number): void;
}

export type HeadersWithUnderscoresAction = 'ALLOW' | 'REJECT_REQUEST' | 'DROP_HEADER';

/** The policy and its counters (Envoy's http1.* / http2.* dropped_headers_with_underscores, requests_rejected_with_underscores_in_headers). */
export interface UnderscorePolicy {
  action: HeadersWithUnderscoresAction;
  dropped: Counter;
  rejected: Counter;
}

/**
 * Applies the policy to a flat [name, value, ...] list from index `from` on (pseudo-headers are
 * never underscored). Returns the list to use (the same one when nothing is dropped), or null when
 * the request is to be rejected.
 */
export function applyUnderscorePolicy(policy: UnderscorePolicy | undefined, flat: string[], from = 0): string[] | null {
  if (policy === undefined || policy.action === 'ALLOW') return flat;
  let first = -1;
  for (let i = from; i < flat.length; i += 2) {
    if (flat[i].includes('_')) {
      first = i;
      break;
    }
  }
  if (first < 0) return flat;
  if (policy.action === 'REJECT_REQUEST') {
    policy.rejected.inc();
    return null;
  }
  const kept = flat.slice(0, first);
  let dropped = 0;
  for (let i = first; i < flat.length; i += 2) {
    if (flat[i].includes('_')) dropped++;
    else kept.push(flat[i], flat[i + 1]);
  }
  policy.dropped.inc(dropped);
  return kept;
}
