// envoy.filters.http.grpc_web: a browser's gRPC-Web call (HTTP/1.1 or HTTP/2, no trailers) made
// into a gRPC call upstream, and its answer made back into gRPC-Web, as Envoy's grpc_web filter:
// - request: content-type application/grpc-web[+proto] (binary) or application/grpc-web-text[+proto]
//   (base64, decoded in 4-byte groups; a bad group is a 400) becomes application/grpc, with
//   te: trailers and grpc-accept-encoding; content-length goes (the body may change length);
// - response: content-type application/grpc-web+proto (or -text+proto when the client's accept asks
//   for text: then each whole gRPC frame is sent base64-encoded), and the trailers become a last
//   frame (flag 0x80) of "name:value\r\n" lines;
// - an answer that is not gRPC (a proxy's 503, an upstream's 404 page) becomes grpc-status from the
//   HTTP status and grpc-message from its body (up to 16 KiB, percent-encoded). Envoy puts them in
//   the response headers by holding them until the body ends; Legate's response headers cannot be
//   held, so they go in the closing trailers frame instead, where gRPC-Web clients read them too.
//   Legate's own local replies (a bad base64 body, no healthy upstream) are gRPC answers already:
//   HTTP 200 with grpc-status and grpc-message in the headers, where Envoy keeps the HTTP status.
// Calls are counted as cluster.<name>.grpc-web.<service>.<method>.{<status>,success,failure,total}.
import type { HeaderMap, ResponseHeaders } from '../../codec/index.ts';
import type { FilterStatus } from '../../http-filter/index.ts';
import { hasGrpcContentType, httpToGrpcStatus } from '../../grpc/index.ts';
import { chargeGrpcStatus, grpcServiceAndMethod } from './grpc-call-stats.ts';
import type { Store } from '../../stats/index.ts';
import { percentEncode } from '../grpc-local-reply.ts';
import type { HttpStream } from '../stream.ts';
import type { FilterContext, HttpFilterInstance } from './filter-context.ts';

const GRPC_WEB = 'application/grpc-web';
const GRPC_WEB_PROTO = 'application/grpc-web+proto';
const GRPC_WEB_TEXT = 'application/grpc-web-text';
const GRPC_WEB_TEXT_PROTO = 'application/grpc-web-text+proto';
const WEB_TYPES = new Set([GRPC_WEB, GRPC_WEB_PROTO, GRPC_WEB_TEXT, GRPC_WEB_TEXT_PROTO]);
const TRAILERS_FLAG = 0x80;
const MAX_MESSAGE_BODY = 16384; // Envoy's MAX_BUFFERED_PLAINTEXT_LENGTH
const EMPTY = Buffer.alloc(0);
// Whole base64 segments, each padded at most at its end (a text body may be several encodings joined).
const BASE64 = /^(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)*$/;

interface WebCall {
  textRequest: boolean;
  textResponse: boolean;
  undecoded: Buffer; // request base64 short of a 4-byte group
  statsPrefix: string | undefined;
  // A non-gRPC answer: its body so far, made into grpc-message at the end.
  nonGrpcBody: Buffer[] | null;
  nonGrpcBytes: number;
  httpStatus: number;
  unframed: Buffer; // text responses: bytes short of a whole gRPC frame
}

export class GrpcWebFilter implements HttpFilterInstance {
  private readonly store: Store;
  private readonly clusterStatName: (cluster: string) => string | undefined;
  private readonly calls = new WeakMap<HttpStream, WebCall>();

  constructor(ctx: FilterContext) {
    this.store = ctx.store;
    this.clusterStatName = ctx.clusterStatName;
  }

  decodeHeaders(stream: HttpStream): FilterStatus {
    const headers = stream.head.headers;
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !WEB_TYPES.has(contentType) || stream.head.path === '') return 'continue';
    const accept = headers['accept'];
    const cluster = stream.cluster === undefined ? undefined : this.clusterStatName(stream.cluster.name);
    const names = cluster === undefined ? undefined : grpcServiceAndMethod(stream.head.path);
    this.calls.set(stream, {
      textRequest: contentType === GRPC_WEB_TEXT || contentType === GRPC_WEB_TEXT_PROTO,
      textResponse: accept === GRPC_WEB_TEXT || accept === GRPC_WEB_TEXT_PROTO,
      undecoded: EMPTY,
      statsPrefix: names === undefined ? undefined : `cluster.${cluster}.grpc-web.${names.service}.${names.method}.`,
      nonGrpcBody: null,
      nonGrpcBytes: 0,
      httpStatus: 200,
      unframed: EMPTY,
    });
    delete headers['content-length'];
    headers['content-type'] = 'application/grpc';
    headers['te'] = 'trailers';
    headers['grpc-accept-encoding'] ??= 'identity,deflate,gzip';
    return 'continue';
  }

  decodeData(stream: HttpStream, data: Buffer, endStream: boolean): FilterStatus {
    const call = this.calls.get(stream);
    if (call === undefined || !call.textRequest) return 'continue';
    const text = call.undecoded.length === 0 ? data : Buffer.concat([call.undecoded, data]);
    const whole = endStream ? text.length : text.length - (text.length % 4);
    if (endStream && text.length % 4 !== 0) return this.badBase64(stream, 'grpc_base_64_decode_failed_bad_size');
    const groups = text.toString('latin1', 0, whole);
    if (!BASE64.test(groups)) return this.badBase64(stream, 'grpc_base_64_decode_failed');
    call.undecoded = text.subarray(whole);
    const decoded = decodeSegments(groups);
    if (decoded.length > 0 || endStream) stream.injectDecodedData(this, decoded, endStream);
    return 'stop';
  }

  private badBase64(stream: HttpStream, details: string): FilterStatus {
    stream.sendLocalReply(400, 'Bad gRPC-web request, invalid base64 data.', '', details);
    return 'stop';
  }

  encodeHeaders(stream: HttpStream, response: ResponseHeaders, endStream: boolean): FilterStatus {
    const call = this.calls.get(stream);
    if (call === undefined) return 'continue';
    const headers = response.headers;
    this.charge(call, headers);
    const grpc = endStream ? headers['grpc-status'] !== undefined : response.status === 200 && hasGrpcContentType(headers['content-type']);
    const webProto = response.status === 200 && isGrpcWebProto(headers['content-type']);
    delete headers['content-length'];
    headers['content-type'] = call.textResponse ? GRPC_WEB_TEXT_PROTO : GRPC_WEB_PROTO;
    if (!endStream && !grpc && !webProto) {
      call.nonGrpcBody = [];
      call.httpStatus = response.status;
    }
    return 'continue';
  }

  encodeData(stream: HttpStream, data: Buffer, endStream: boolean): FilterStatus {
    const call = this.calls.get(stream);
    if (call === undefined) return 'continue';
    if (call.nonGrpcBody !== null) {
      if (call.nonGrpcBytes < MAX_MESSAGE_BODY && data.length > 0) {
        const kept = data.subarray(0, MAX_MESSAGE_BODY - call.nonGrpcBytes);
        call.nonGrpcBody.push(kept);
        call.nonGrpcBytes += kept.length;
      }
      if (endStream) this.sendNonGrpcStatus(stream, call);
      return 'stop';
    }
    if (!call.textResponse) return 'continue';
    const encoded = this.textFrames(call, data, endStream);
    if (encoded.length > 0 || endStream) stream.injectEncodedData(this, encoded, endStream);
    return 'stop';
  }

  encodeTrailers(stream: HttpStream, trailers: HeaderMap): FilterStatus {
    const call = this.calls.get(stream);
    if (call === undefined) return 'continue';
    if (call.nonGrpcBody !== null) {
      this.sendNonGrpcStatus(stream, call);
      return 'stop';
    }
    this.charge(call, trailers);
    let lines = '';
    for (const name in trailers) {
      const value = trailers[name]!;
      for (const v of Array.isArray(value) ? value : [value]) lines += `${name}:${v}\r\n`;
    }
    const held = call.textResponse && call.unframed.length > 0 ? call.unframed.toString('base64') : '';
    call.unframed = EMPTY;
    const frame = trailersFrame(lines);
    stream.injectEncodedData(this, call.textResponse ? Buffer.from(held + frame.toString('base64'), 'latin1') : frame, true);
    return 'stop';
  }

  private charge(call: WebCall, headers: HeaderMap): void {
    if (call.statsPrefix !== undefined) chargeGrpcStatus(this.store, call.statsPrefix, headers);
  }

  /** Each whole gRPC frame, base64-encoded on its own (as Envoy sends them); a partial one waits. */
  private textFrames(call: WebCall, data: Buffer, endStream: boolean): Buffer {
    const bytes = call.unframed.length === 0 ? data : Buffer.concat([call.unframed, data]);
    let out = '';
    let at = 0;
    while (bytes.length - at >= 5) {
      const end = at + 5 + bytes.readUInt32BE(at + 1);
      if (end > bytes.length) break;
      out += bytes.toString('base64', at, end);
      at = end;
    }
    if (endStream && at < bytes.length) {
      out += bytes.toString('base64', at); // a truncated last frame still reaches the client
      at = bytes.length;
    }
    call.unframed = bytes.subarray(at);
    return Buffer.from(out, 'latin1');
  }

  /** The end of a non-gRPC answer: its status and body as a closing trailers frame. */
  private sendNonGrpcStatus(stream: HttpStream, call: WebCall): void {
    const message = percentEncode(Buffer.concat(call.nonGrpcBody!).toString('utf8'));
    call.nonGrpcBody = null;
    const frame = trailersFrame(`grpc-status:${httpToGrpcStatus(call.httpStatus)}\r\ngrpc-message:${message}\r\n`);
    stream.injectEncodedData(this, call.textResponse ? Buffer.from(frame.toString('base64'), 'latin1') : frame, true);
  }
}

function isGrpcWebProto(contentType: string | string[] | undefined): boolean {
  if (typeof contentType !== 'string') return false;
  const type = contentType.split(';')[0].trimEnd().toLowerCase();
  return type === GRPC_WEB_PROTO || type === GRPC_WEB;
}

function trailersFrame(lines: string): Buffer {
  const body = Buffer.from(lines, 'latin1');
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame[0] = TRAILERS_FLAG;
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  return frame;
}

// Base64 text made of whole 4-byte groups, possibly several padded encodings joined.
function decodeSegments(text: string): Buffer {
  if (!text.includes('=')) return Buffer.from(text, 'base64');
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 3; i < text.length; i += 4) {
    if (text[i] !== '=') continue;
    parts.push(Buffer.from(text.slice(start, i + 1), 'base64'));
    start = i + 1;
  }
  if (start < text.length) parts.push(Buffer.from(text.slice(start), 'base64'));
  return Buffer.concat(parts);
}

export function createGrpcWebFilter(_config: unknown, ctx: FilterContext): HttpFilterInstance {
  return new GrpcWebFilter(ctx);
}
