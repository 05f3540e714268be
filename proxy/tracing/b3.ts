// B3 propagation (Zipkin's headers), as Envoy's Zipkin tracer reads and writes it. Read: the
// single `b3` header when present ({trace id 16 or 32 hex}-{span id}[-{sampling 0|1|d}[-{parent
// id}]], or a lone sampling flag), else the multi headers x-b3-traceid, x-b3-spanid,
// x-b3-parentspanid and x-b3-sampled ('1' or 'true'; x-b3-flags is not read, as in Envoy).
// Written to upstream requests: the multi headers only.
import type { HeaderMap } from '../codec/index.ts';

export interface SpanContext {
  traceId: string; // 16 or 32 lower-case hex digits
  spanId: string;
  parentId: string; // '' when none
  sampled: boolean;
}

const HEX16 = /^[0-9a-f]{16}$/i;
const HEX32 = /^[0-9a-f]{32}$/i;

function first(value: string | string[] | number | undefined): string | undefined {
  return value === undefined ? undefined : Array.isArray(value) ? value[0] : String(value);
}

/** The sampling flag the headers carry, or undefined to let the local decision stand. */
export function extractSampled(headers: HeaderMap): boolean | undefined {
  const b3 = first(headers.b3);
  if (b3 !== undefined) {
    let at: number;
    switch (b3.length) {
      case 1:
        at = 0;
        break;
      case 35: // 16-16-s
      case 52: // 16-16-s-16
        at = 34;
        break;
      case 51: // 32-16-s
      case 68: // 32-16-s-16
        at = 50;
        break;
      default:
        return undefined;
    }
    const flag = b3[at];
    return flag === '0' ? false : flag === '1' || flag === 'd' ? true : undefined;
  }
  const sampled = first(headers['x-b3-sampled']);
  if (sampled === undefined) return undefined;
  return sampled === '1' || sampled === 'true';
}

/**
 * The span context the headers carry: a context, null when there is none (no trace id and span
 * id, or a b3 header with only a sampling flag), or 'invalid' when what is there is malformed
 * (Envoy then does not trace the request at all).
 */
export function extractSpanContext(headers: HeaderMap, sampled: boolean): SpanContext | null | 'invalid' {
  const b3 = first(headers.b3);
  if (b3 !== undefined) return parseSingle(b3, sampled);
  const traceId = first(headers['x-b3-traceid']);
  const spanId = first(headers['x-b3-spanid']);
  if (traceId === undefined || spanId === undefined) return null;
  if (!(HEX16.test(traceId) || HEX32.test(traceId)) || !HEX16.test(spanId)) return 'invalid';
  const parent = first(headers['x-b3-parentspanid']) ?? '';
  if (parent !== '' && !HEX16.test(parent)) return 'invalid';
  return { traceId: traceId.toLowerCase(), spanId: spanId.toLowerCase(), parentId: parent.toLowerCase(), sampled };
}

function parseSingle(b3: string, sampled: boolean): SpanContext | null | 'invalid' {
  if (b3.length === 1) return b3 === '0' || b3 === '1' || b3 === 'd' ? null : 'invalid';
  const parts = b3.split('-');
  const [traceId, spanId, flag, parent] = parts;
  if (parts.length > 4 || !(HEX16.test(traceId) || HEX32.test(traceId)) || spanId === undefined || !HEX16.test(spanId)) return 'invalid';
  if (flag !== undefined && !(flag === '0' || flag === '1' || flag === 'd')) return 'invalid';
  if (parent !== undefined && !HEX16.test(parent)) return 'invalid';
  return { traceId: traceId.toLowerCase(), spanId: spanId.toLowerCase(), parentId: (parent ?? '').toLowerCase(), sampled };
}

/** Writes a span's context as the B3 multi headers of an upstream request. */
export function injectB3(headers: HeaderMap, context: SpanContext): void {
  headers['x-b3-traceid'] = context.traceId;
  headers['x-b3-spanid'] = context.spanId;
  if (context.parentId !== '') headers['x-b3-parentspanid'] = context.parentId;
  else if (headers['x-b3-parentspanid'] !== undefined) delete headers['x-b3-parentspanid'];
  headers['x-b3-sampled'] = context.sampled ? '1' : '0';
}
