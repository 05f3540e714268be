// W3C Trace Context (traceparent and tracestate), as Envoy's OpenTelemetry tracer reads and
// writes it: traceparent is 00-{32 hex trace id}-{16 hex parent id}-{2 hex flags}, bit 0 of the
// flags is "sampled"; version ff and all-zero ids are invalid; tracestate travels unchanged.
import type { HeaderMap } from '../codec/index.ts';

export interface W3cContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
  traceState: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function first(value: string | string[] | number | undefined): string | undefined {
  return value === undefined ? undefined : Array.isArray(value) ? value[0] : String(value);
}

/** The incoming context: null when there is no traceparent, 'invalid' when it is malformed. */
export function extractTraceparent(headers: HeaderMap): W3cContext | null | 'invalid' {
  const header = first(headers.traceparent);
  if (header === undefined) return null;
  const m = TRACEPARENT.exec(header);
  if (m === null || m[1] === 'ff' || /^0+$/.test(m[2]) || /^0+$/.test(m[3])) return 'invalid';
  const state = headers.tracestate;
  const traceState = state === undefined ? '' : Array.isArray(state) ? state.join(',') : String(state);
  return { traceId: m[2], spanId: m[3], sampled: (parseInt(m[4], 16) & 1) === 1, traceState };
}

export function injectTraceparent(headers: HeaderMap, context: W3cContext): void {
  headers.traceparent = `00-${context.traceId}-${context.spanId}-${context.sampled ? '01' : '00'}`;
  if (context.traceState !== '') headers.tracestate = context.traceState;
}
