// envoy.filters.http.compressor: compresses response bodies with one library (gzip, brotli, zstd
// on node:zlib) when the request accepts its coding and the response qualifies (Envoy's
// CompressorFilter): no content-encoding yet, a listed content type, at least min_content_length
// bytes when the length is known, no cache-control no-transform, no etag with
// disable_on_etag_header. Several compressor filters in one chain agree on one coding per request.
// The body streams through: each chunk is compressed and flushed on its own, the zlib queue's
// watermarks pause the upstream, and trailers wait for the compressed end. A route's
// CompressorPerRoute turns response compression off (disabled) or on (overrides). With
// request_direction_config, request bodies of a listed content type and length are compressed too.
// Stats: <http.stat_prefix.>compressor.<library name>.<gzip|brotli|zstd>.{compressed, not_compressed,
// total_uncompressed_bytes, total_compressed_bytes, content_length_too_small} (under 'response.'
// when response_direction_config is set), {no_accept_header, header_identity,
// header_compressor_used, header_compressor_overshadowed, header_wildcard, header_not_valid,
// not_compressed_etag}, and request.{compressed, not_compressed, total_uncompressed_bytes,
// total_compressed_bytes, content_length_too_small}.
import type { HeaderMap, ResponseHeaders } from '../../codec/index.ts';
import type { CompressorConfig, CompressorPerRouteConfig } from '../../config/model.ts';
import type { FilterStatus } from '../../http-filter/index.ts';
import type { Counter, Store } from '../../stats/index.ts';
import type { HttpStream } from '../stream.ts';
import { chooseEncoding, mediaType, type CompressorCandidate, type EncodingDecision } from './compression/accept-encoding.ts';
import { contentEncoding } from './compression/libraries.ts';
import { StreamingCompressor, type CompressedSink } from './compression/streaming-compressor.ts';
import type { FilterContext, HttpFilterInstance } from './filter-context.ts';
import { isDisabled, perRouteConfig } from './per-route-config.ts';
import { runtime } from '../../runtime/index.ts';

const EMPTY = Buffer.alloc(0);

// Codings a transfer-encoding may already carry (Envoy's isTransferEncodingAllowed).
const COMPRESSED_TRANSFER_CODINGS = new Set(['gzip', 'br', 'deflate', 'compress', 'zstd']);

/** The compressor filters of one request's chain, and their shared choice once made. */
interface ChainState {
  filters: CompressorFilter[];
  decision: EncodingDecision | undefined;
}

const chains = new WeakMap<HttpStream, ChainState>();

/** What a request's headers decided for its response. */
interface RequestState {
  accept: string | null; // its accept-encoding (null: none)
  enabled: boolean; // response compression on, by the filter's config or the route's CompressorPerRoute
}

/** A direction's rules and counters (Envoy's DirectionConfig). */
class Direction {
  readonly minContentLength: number;
  readonly contentTypes: ReadonlySet<string>;
  readonly compressed: Counter;
  readonly notCompressed: Counter;
  readonly totalUncompressedBytes: Counter;
  readonly totalCompressedBytes: Counter;
  readonly contentLengthTooSmall: Counter;

  constructor(config: { minContentLength: number; contentTypes: string[] }, store: Store, prefix: string) {
    this.minContentLength = config.minContentLength;
    this.contentTypes = new Set(config.contentTypes);
    this.compressed = store.counter(`${prefix}compressed`);
    this.notCompressed = store.counter(`${prefix}not_compressed`);
    this.totalUncompressedBytes = store.counter(`${prefix}total_uncompressed_bytes`);
    this.totalCompressedBytes = store.counter(`${prefix}total_compressed_bytes`);
    this.contentLengthTooSmall = store.counter(`${prefix}content_length_too_small`);
  }

  longEnough(headers: HeaderMap): boolean {
    const value = first(headers['content-length']);
    if (value === undefined) return true;
    const ok = /^\d+$/.test(value) && Number(value) >= this.minContentLength;
    if (!ok) this.contentLengthTooSmall.inc();
    return ok;
  }

  contentTypeAllowed(headers: HeaderMap): boolean {
    const value = first(headers['content-type']);
    return value === undefined || this.contentTypes.has(mediaType(value));
  }
}

export class CompressorFilter implements HttpFilterInstance {
  readonly candidate: CompressorCandidate;
  private readonly config: CompressorConfig['response'];
  private readonly library: CompressorConfig['library'];
  private readonly name: string;
  private readonly response: Direction;
  private readonly request: Direction | undefined; // set when request bodies are compressed
  private readonly requestConfig: CompressorConfig['request'];
  private readonly requestNotCompressed: Counter;
  private readonly noAcceptHeader: Counter;
  private readonly notCompressedEtag: Counter;
  private readonly header: Record<EncodingDecision['stat'] | 'overshadowed', Counter>;
  private readonly requests = new WeakMap<HttpStream, RequestState>();
  private readonly responseBodies = new WeakMap<HttpStream, StreamingCompressor>();
  private readonly requestBodies = new WeakMap<HttpStream, StreamingCompressor>();

  constructor(config: CompressorConfig, ctx: FilterContext, name: string) {
    this.name = name;
    this.config = config.response;
    this.library = config.library;
    const prefix = `http.${ctx.statPrefix}.compressor.${config.libraryName}.${config.library.kind}.`;
    const c = (stat: string) => ctx.store.counter(prefix + stat);
    this.response = new Direction(config.response, ctx.store, prefix + config.response.statsUnder);
    this.request = config.request === undefined ? undefined : new Direction(config.request, ctx.store, `${prefix}request.`);
    this.requestConfig = config.request;
    this.requestNotCompressed = this.request?.notCompressed ?? c('request.not_compressed');
    this.noAcceptHeader = c('no_accept_header');
    this.notCompressedEtag = c('not_compressed_etag');
    this.header = {
      not_valid: c('header_not_valid'),
      identity: c('header_identity'),
      wildcard: c('header_wildcard'),
      compressor: c('header_compressor_used'),
      overshadowed: c('header_compressor_overshadowed'),
    };
    this.candidate = { encoding: contentEncoding(config.library), chooseFirst: config.chooseFirst, contentTypes: this.response.contentTypes };
  }

  /** request_direction_config's enabled flag: its runtime key, when set, decides. */
  private requestEnabled(): boolean {
    const key = this.requestConfig?.enabledKey;
    return key === undefined || runtime.snapshot.getBoolean(key, this.requestConfig?.enabledByDefault ?? true);
  }

  decodeHeaders(stream: HttpStream, endStream: boolean): FilterStatus {
    const route = perRouteConfig<CompressorPerRouteConfig>(stream, this.name);
    if (isDisabled(route)) return 'continue'; // a FilterConfig turned the filter off for this route
    const headers = stream.head.headers;
    const value = headers['accept-encoding'];
    const key = this.config.enabledKey;
    const enabled = route?.responseEnabled ?? (key === undefined ? this.config.enabled : runtime.snapshot.getBoolean(key, this.config.enabled));
    this.requests.set(stream, { accept: value === undefined ? null : ([] as string[]).concat(value).join(','), enabled });
    if (enabled && (route?.removeAcceptEncodingHeader ?? this.config.removeAcceptEncodingHeader)) delete headers['accept-encoding'];
    let chain = chains.get(stream);
    if (chain === undefined) chains.set(stream, (chain = { filters: [], decision: undefined }));
    chain.filters.push(this);
    const request = this.request;
    if (
      request !== undefined &&
      this.requestEnabled() &&
      !endStream &&
      stream.upgradeType === undefined &&
      request.longEnough(headers) &&
      request.contentTypeAllowed(headers) &&
      headers['content-encoding'] === undefined &&
      transferEncodingAllowed(headers, this.candidate.encoding)
    ) {
      delete headers['content-length'];
      headers['content-encoding'] = this.candidate.encoding;
      request.compressed.inc();
      this.requestBodies.set(stream, this.start(stream, request, {
        data: (chunk) => stream.injectDecodedData(this, chunk, false),
        end: (trailers) => (trailers === undefined ? stream.injectDecodedData(this, EMPTY, true) : stream.injectDecodedTrailers(this, trailers)),
        // Too much request body waiting: stop reading the client until it drains.
        backedUp: (above) => stream.readDisable(above),
        error: () => stream.resetStream(),
      }));
    } else {
      this.requestNotCompressed.inc();
    }
    return 'continue';
  }

  decodeData(stream: HttpStream, data: Buffer, endStream: boolean): FilterStatus {
    return this.compress(this.requestBodies.get(stream), this.request, data, endStream);
  }

  decodeTrailers(stream: HttpStream, trailers: HeaderMap): FilterStatus {
    return endWithTrailers(this.requestBodies.get(stream), trailers);
  }

  encodeHeaders(stream: HttpStream, response: ResponseHeaders, endStream: boolean): FilterStatus {
    const request = this.requests.get(stream);
    if (request === undefined) return 'continue';
    const headers = response.headers;
    const bodyless = endStream || stream.head.method === 'HEAD' || response.status < 200 || response.status === 204 || response.status === 304;
    const enabledAndLongEnough = request.enabled && this.response.longEnough(headers);
    const compressible =
      enabledAndLongEnough &&
      // A tunnel (an upgrade or CONNECT) carries bytes, not a body to encode.
      stream.upgradeType === undefined &&
      response.status !== 101 &&
      this.response.contentTypeAllowed(headers) &&
      !hasToken(headers['cache-control'], 'no-transform') &&
      this.etagAllowed(headers) &&
      headers['content-encoding'] === undefined;
    if (!bodyless && this.acceptEncodingAllowed(stream, request.accept, enabledAndLongEnough, headers) && compressible && transferEncodingAllowed(headers, this.candidate.encoding)) {
      sanitizeEtag(headers);
      delete headers['content-length'];
      headers['content-encoding'] = this.candidate.encoding;
      this.response.compressed.inc();
      this.responseBodies.set(stream, this.start(stream, this.response, {
        data: (chunk) => stream.injectEncodedData(this, chunk, false),
        end: (trailers) => (trailers === undefined ? stream.injectEncodedData(this, EMPTY, true) : stream.injectEncodedTrailers(this, trailers)),
        backedUp: (above) => (above ? stream.onEncoderFilterAboveWriteBufferHighWatermark() : stream.onEncoderFilterBelowWriteBufferLowWatermark()),
        error: () => stream.resetStream(),
      }));
    } else {
      this.response.notCompressed.inc();
    }
    // A cache in front must know the resource has a compressed form, whether or not this one is.
    if (compressible) addVary(headers);
    return 'continue';
  }

  encodeData(stream: HttpStream, data: Buffer, endStream: boolean): FilterStatus {
    return this.compress(this.responseBodies.get(stream), this.response, data, endStream);
  }

  encodeTrailers(stream: HttpStream, trailers: HeaderMap): FilterStatus {
    return endWithTrailers(this.responseBodies.get(stream), trailers);
  }

  // A body being compressed takes every chunk ('stop'); the compressed chunks are injected instead.
  private compress(body: StreamingCompressor | undefined, direction: Direction | undefined, data: Buffer, endStream: boolean): FilterStatus {
    if (body === undefined) return 'continue';
    direction!.totalUncompressedBytes.inc(data.length);
    body.write(data, endStream);
    return 'stop';
  }

  private start(stream: HttpStream, direction: Direction, sink: CompressedSink): StreamingCompressor {
    const body = new StreamingCompressor(this.library, stream.connection.hcm.bufferLimitBytes, {
      ...sink,
      data: (chunk) => {
        direction.totalCompressedBytes.inc(chunk.length);
        sink.data(chunk);
      },
    });
    stream.onDestroy({ onStreamDestroy: () => body.destroy() });
    return body;
  }

  // Envoy's isAcceptEncodingAllowed: the header stats count only responses that could be compressed.
  private acceptEncodingAllowed(stream: HttpStream, accept: string | null, maybe: boolean, headers: HeaderMap): boolean {
    if (!maybe) return false;
    if (accept === null) {
      this.noAcceptHeader.inc();
      return false;
    }
    const chain = chains.get(stream)!;
    chain.decision ??= chooseEncoding(accept, first(headers['content-type']), chain.filters.map((f) => f.candidate));
    const chosen = chain.decision.encoding === this.candidate.encoding;
    const stat = chain.decision.stat;
    this.header[stat === 'compressor' && !chosen ? 'overshadowed' : stat].inc();
    return chosen;
  }

  private etagAllowed(headers: HeaderMap): boolean {
    if (!this.config.disableOnEtagHeader || headers.etag === undefined) return true;
    this.notCompressedEtag.inc();
    return false;
  }
}

function endWithTrailers(body: StreamingCompressor | undefined, trailers: HeaderMap): FilterStatus {
  if (body === undefined) return 'continue';
  body.endWithTrailers(trailers);
  return 'stop';
}

export function createCompressorFilter(config: unknown, ctx: FilterContext, name: string): HttpFilterInstance {
  return new CompressorFilter(config as CompressorConfig, ctx, name);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function tokens(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return ([] as string[]).concat(value).flatMap((v) => v.split(',')).map((t) => t.trim().toLowerCase());
}

function hasToken(value: string | string[] | undefined, token: string): boolean {
  return tokens(value).includes(token);
}

function transferEncodingAllowed(headers: HeaderMap, encoding: string): boolean {
  return !tokens(headers['transfer-encoding']).some((t) => COMPRESSED_TRANSFER_CODINGS.has(t) || t === encoding);
}

// A strong etag names the uncompressed bytes, so it goes; a weak one (W/"...") stays.
function sanitizeEtag(headers: HeaderMap): void {
  const etag = first(headers.etag);
  if (etag !== undefined && etag.length > 2 && !/^[wW]\//.test(etag)) delete headers.etag;
}

function addVary(headers: HeaderMap): void {
  const vary = headers.vary;
  if (vary === undefined) headers.vary = 'accept-encoding';
  else if (!tokens(vary).includes('accept-encoding')) headers.vary = `${([] as string[]).concat(vary).join(', ')}, accept-encoding`;
}
