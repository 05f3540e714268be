// A local reply to a gRPC request, as Envoy's Utility::sendLocalReply gives it: a trailers-only
// response (HTTP 200, content-type application/grpc, grpc-status, grpc-message, end of stream on
// the headers). The grpc-status is the one the caller names (a fault's abort, a duration timeout)
// or a header the caller set, else the HTTP status mapped as Envoy's httpToGrpcStatus.
import type { HeaderMap } from '../codec/index.ts';
import { httpToGrpcStatus } from '../grpc/index.ts';

/** The headers of the trailers-only answer; `headers` are the caller's extra headers (kept). */
export function grpcLocalReplyHeaders(status: number, body: string, grpcStatus: number | undefined, headers: HeaderMap | undefined, headRequest: boolean): HeaderMap {
  const out: HeaderMap = headers === undefined ? {} : { ...headers };
  out['content-type'] = 'application/grpc';
  out['grpc-status'] ??= String(grpcStatus ?? httpToGrpcStatus(status));
  if (body !== '' && !headRequest) out['grpc-message'] = percentEncode(body);
  delete out['content-length'];
  return out;
}

/**
 * grpc-message's percent-encoding (Envoy's PercentEncoding::encode): bytes below a space, from '~'
 * up, and '%' itself become %XX.
 */
export function percentEncode(text: string): string {
  if (!/[^\x20-\x24\x26-\x7d]/.test(text)) return text;
  let out = '';
  for (const byte of Buffer.from(text)) {
    out += byte < 0x20 || byte >= 0x7e || byte === 0x25 ? '%' + byte.toString(16).toUpperCase().padStart(2, '0') : String.fromCharCode(byte);
  }
  return out;
}
