// Request header handling of the connection manager: the x-envoy-* control headers an external
// client may not set, and the x-request-id Envoy generates. (Hop-by-hop removal is router/'s.)
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

export type HeaderMap = IncomingHttpHeaders | OutgoingHttpHeaders;

// The x-envoy-* request headers that steer Envoy itself; from an external client they are removed,
// so only internal callers (and Legate's own edge) can set them.
const ENVOY_CONTROL_HEADERS = [
  'x-envoy-internal',
  'x-envoy-external-address',
  'x-envoy-retry-on',
  'x-envoy-retry-grpc-on',
  'x-envoy-max-retries',
  'x-envoy-upstream-rq-timeout-ms',
  'x-envoy-upstream-rq-per-try-timeout-ms',
  'x-envoy-upstream-rq-timeout-alt-response',
  'x-envoy-expected-rq-timeout-ms',
  'x-envoy-hedge-on-per-try-timeout',
  'x-envoy-upstream-alt-stat-name',
  'x-envoy-downstream-service-cluster',
  'x-envoy-downstream-service-node',
  'x-envoy-decorator-operation',
  'x-envoy-force-trace',
  'x-envoy-ip-tags',
];

export function removeEnvoyControlHeaders(headers: HeaderMap): void {
  for (const name of ENVOY_CONTROL_HEADERS) if (headers[name] !== undefined) delete headers[name];
}

/** A request id as Envoy generates one: a random UUID v4. */
export function newRequestId(): string {
  return randomUUID();
}
