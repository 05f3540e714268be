// Request header handling of the connection manager: the x-envoy-* control headers an external
// client may not set, and the x-request-id Envoy generates. (Hop-by-hop removal is router/'s.)
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

export type HeaderMap = IncomingHttpHeaders | OutgoingHttpHeaders;

// The x-envoy-* request headers an external request may not carry, as Envoy's
// ConnectionManagerUtility::cleanInternalHeaders lists them (source/common/http/
// conn_manager_utility.cc). These steer Envoy itself (retries, timeouts, stats, tracing), so only an
// internal request keeps them. x-envoy-internal is never taken from a downstream: Envoy removes it
// from every request and sets it again on internal ones.
const EXTERNAL_REMOVED_HEADERS = [
  'x-envoy-internal',
  'x-envoy-retriable-status-codes',
  'x-envoy-retriable-header-names',
  'x-envoy-retry-on',
  'x-envoy-retry-grpc-on',
  'x-envoy-max-retries',
  'x-envoy-upstream-alt-stat-name',
  'x-envoy-upstream-rq-timeout-ms',
  'x-envoy-upstream-rq-per-try-timeout-ms',
  'x-envoy-upstream-rq-timeout-alt-response',
  'x-envoy-expected-rq-timeout-ms',
  'x-envoy-force-trace',
  'x-envoy-ip-tags',
  'x-envoy-original-url',
  'x-envoy-hedge-on-per-try-timeout',
];

// Removed as well when the request is an edge request (external, and the HCM uses the remote
// address): what an earlier Envoy hop would have set. (x-envoy-external-address is overwritten on
// edge requests by downstream-address.ts, not removed here.)
const EDGE_REMOVED_HEADERS = [
  'x-envoy-decorator-operation',
  'x-envoy-downstream-service-cluster',
  'x-envoy-downstream-service-node',
  'x-envoy-original-path',
];

/** Strips the x-envoy-* control headers from an external request (plus the edge-only ones when `edge`). */
export function removeEnvoyControlHeaders(headers: HeaderMap, edge = true): void {
  for (let i = 0; i < EXTERNAL_REMOVED_HEADERS.length; i++) {
    const name = EXTERNAL_REMOVED_HEADERS[i];
    if (headers[name] !== undefined) delete headers[name];
  }
  if (!edge) return;
  for (let i = 0; i < EDGE_REMOVED_HEADERS.length; i++) {
    const name = EDGE_REMOVED_HEADERS[i];
    if (headers[name] !== undefined) delete headers[name];
  }
}

/** A request id as Envoy generates one: a random UUID v4. */
export function newRequestId(): string {
  return randomUUID();
}
