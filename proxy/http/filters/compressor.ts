// envoy.filters.http.compressor: compresses response bodies with one library (gzip, brotli, zstd
// on node:zlib) when the request accepts its coding and the response qualifies (Envoy's
// CompressorFilter): no content-encoding yet, a listed content type, at least min_content_length
// bytes when the length is known, no cache-control no-transform, no etag with
// disable_on_etag_header. Several compressor filters in one chain agree on one coding per request.
// The body streams through: each chunk is compressed and flushed on its own, the zlib queue's
// watermarks pause the upstream, and trailers wait for the compressed end. A route's
// CompressorPerRoute turns response compression off (disabled) or on (overrides).
// Stats: <http.stat_prefix.>compressor.<library name>.<gzip|brotli|zstd>.{compressed, not_compressed,
// total_uncompressed_bytes, total_compressed_bytes, content_length_too_small} (under 'response.'
// when response_direction_config is set), {no_accept_header, header_identity,
// header_compressor_used, header_compressor_overshadowed, header_wildcard, header_not_valid,
// not_compressed_etag}, and request.not_compressed.
import type { Transform } from 'node:stream';
import type { HeaderMap, ResponseHeaders } from '../../codec/index.ts';
import type { CompressorConfig, CompressorPerRouteConfig } from '../../config/model.ts';
import type { FilterStatus } from '../../http-filter/index.ts';
import type { Counter } from '../../stats/index.ts';
import type { HttpStream } from '../stream.ts';
import { chooseEncoding, mediaType, type CompressorCandidate, type EncodingDecision } from './compression/accept-encoding.ts';
import { contentEncoding, createCompressor } from './compression/libraries.ts';
import type { FilterContext, HttpFilterInstance } from './filter-context.ts';
import { isDisabled, perRouteConfig } from './per-route-config.ts';

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

/** One response being compressed. */
interface ActiveCompression {
  compressor: Transform;
  trailers: HeaderMap | undefined; // held until the compressed body has ended
  backedUp: boolean; // the compressor's input queue is above its high watermark
}

class CompressorStats {
  readonly compressed: Counter;
  readonly notCompressed: Counter;
  readonly totalUncompressedBytes: Counter;
  readonly totalCompressedBytes: Counter;
  readonly contentLengthTooSmall: Counter;
  readonly noAcceptHeader: Counter;
  readonly notCompressedEtag: Counter;
  readonly header: Record<EncodingDecision['stat'] | 'overshadowed', Counter>;
  readonly requestNotCompressed: Counter;

  constructor(ctx: FilterContext, config: CompressorConfig) {
    const prefix = `http.${ctx.statPrefix}.compressor.${config.libraryName}.${config.library.kind}.`;
    const response = prefix + config.response.statsUnder;
    const c = (name: string) => ctx.store.counter(name);
    this.compressed = c(`${response}compressed`);
    this.notCompressed = c(`${response}not_compressed`);
    this.totalUncompressedBytes = c(`${response}total_uncompressed_bytes`);
    this.totalCompressedBytes = c(`${response}total_compressed_bytes`);
    this.contentLengthTooSmall = c(`${response}content_length_too_small`);
    this.noAcceptHeader = c(`${prefix}no_accept_header`);
    this.notCompressedEtag = c(`${prefix}not_compressed_etag`);
    this.header = {
      not_valid: c(`${prefix}header_not_valid`),
      identity: c(`${prefix}header_identity`),
      wildcard: c(`${prefix}header_wildcard`),
      compressor: c(`${prefix}header_compressor_used`),
      overshadowed: c(`${prefix}header_compressor_overshadowed`),
    };
    this.requestNotCompressed = c(`${prefix}request.not_compressed`);
  }
}

export class CompressorFilter implements HttpFilterInstance {
  readonly candidate: CompressorCandidate;
  private readonly config: CompressorConfig['response'];
  private readonly stats: CompressorStats;
  private readonly library: CompressorConfig['library'];
  private readonly name: string;
  private readonly requests = new WeakMap<HttpStream, RequestState>();
  private readonly active = new WeakMap<HttpStream, ActiveCompression>();

  constructor(config: CompressorConfig, ctx: FilterContext, name: string) {
    this.name = name;
    this.config = config.response;
    this.library = config.library;
    this.stats = new CompressorStats(ctx, config);
    this.candidate = { encoding: contentEncoding(config.library), chooseFirst: config.chooseFirst, contentTypes: new Set(config.response.contentTypes) };
  }

  decodeHeaders(stream: HttpStream): FilterStatus {
    const route = perRouteConfig<CompressorPerRouteConfig>(stream, this.name);
    if (isDisabled(route)) return 'continue'; // a FilterConfig turned the filter off for this route
    const headers = stream.head.headers;
    const value = headers['accept-encoding'];
    const enabled = route?.responseEnabled ?? this.config.enabled;
    this.requests.set(stream, { accept: value === undefined ? null : ([] as string[]).concat(value).join(','), enabled });
    if (enabled && (route?.removeAcceptEncodingHeader ?? this.config.removeAcceptEncodingHeader)) delete headers['accept-encoding'];
    let chain = chains.get(stream);
    if (chain === undefined) chains.set(stream, (chain = { filters: [], decision: undefined }));
    chain.filters.push(this);
    // Request bodies are never compressed here (the translator rejects request_direction_config).
    this.stats.requestNotCompressed.inc();
    return 'continue';
  }

  encodeHeaders(stream: HttpStream, response: ResponseHeaders, endStream: boolean): FilterStatus {
    const request = this.requests.get(stream);
    if (request === undefined) return 'continue';
    const headers = response.headers;
    const bodyless = endStream || stream.head.method === 'HEAD' || response.status < 200 || response.status === 204 || response.status === 304;
    const enabledAndLongEnough = request.enabled && this.longEnough(headers);
    const compressible =
      enabledAndLongEnough &&
      // A tunnel (an upgrade or CONNECT) carries bytes, not a body to encode.
      stream.upgradeType === undefined &&
      response.status !== 101 &&
      this.contentTypeAllowed(headers) &&
      !hasToken(headers['cache-control'], 'no-transform') &&
      this.etagAllowed(headers) &&
      headers['content-encoding'] === undefined;
    if (!bodyless && this.acceptEncodingAllowed(stream, request.accept, enabledAndLongEnough, headers) && compressible && transferEncodingAllowed(headers, this.candidate.encoding)) {
      sanitizeEtag(headers);
      delete headers['content-length'];
      headers['content-encoding'] = this.candidate.encoding;
      this.stats.compressed.inc();
      this.start(stream);
    } else {
      this.stats.notCompressed.inc();
    }
    // A cache in front must know the resource has a compressed form, whether or not this one is.
    if (compressible) addVary(headers);
    return 'continue';
  }

  encodeData(stream: HttpStream, data: Buffer, endStream: boolean): FilterStatus {
    const active = this.active.get(stream);
    if (active === undefined) return 'continue';
    this.stats.totalUncompressedBytes.inc(data.length);
    if (data.length > 0 && !active.compressor.write(data) && !active.backedUp) {
      active.backedUp = true;
      stream.onEncoderFilterAboveWriteBufferHighWatermark();
    }
    if (endStream) active.compressor.end();
    return 'stop';
  }

  encodeTrailers(stream: HttpStream, trailers: HeaderMap): FilterStatus {
    const active = this.active.get(stream);
    if (active === undefined) return 'continue';
    active.trailers = trailers;
    active.compressor.end();
    return 'stop';
  }

  private start(stream: HttpStream): void {
    const compressor = createCompressor(this.library, stream.connection.hcm.bufferLimitBytes);
    const active: ActiveCompression = { compressor, trailers: undefined, backedUp: false };
    this.active.set(stream, active);
    compressor.on('data', (chunk: Buffer) => {
      this.stats.totalCompressedBytes.inc(chunk.length);
      stream.injectEncodedData(this, chunk, false);
    });
    // No 'drain' comes once the body has ended: 'end' lowers the watermark then.
    const lower = () => {
      if (!active.backedUp) return;
      active.backedUp = false;
      stream.onEncoderFilterBelowWriteBufferLowWatermark();
    };
    compressor.on('drain', lower);
    compressor.on('end', () => {
      this.active.delete(stream);
      lower();
      if (active.trailers !== undefined) stream.injectEncodedTrailers(this, active.trailers);
      else stream.injectEncodedData(this, EMPTY, true);
    });
    compressor.on('error', () => {
      this.active.delete(stream);
      stream.resetStream();
    });
    stream.onDestroy({ onStreamDestroy: () => compressor.destroy() });
  }

  // Envoy's isAcceptEncodingAllowed: the header stats count only responses that could be compressed.
  private acceptEncodingAllowed(stream: HttpStream, accept: string | null, maybe: boolean, headers: HeaderMap): boolean {
    if (!maybe) return false;
    if (accept === null) {
      this.stats.noAcceptHeader.inc();
      return false;
    }
    const chain = chains.get(stream)!;
    chain.decision ??= chooseEncoding(accept, first(headers['content-type']), chain.filters.map((f) => f.candidate));
    const chosen = chain.decision.encoding === this.candidate.encoding;
    const stat = chain.decision.stat;
    this.stats.header[stat === 'compressor' && !chosen ? 'overshadowed' : stat].inc();
    return chosen;
  }

  private longEnough(headers: HeaderMap): boolean {
    const value = first(headers['content-length']);
    if (value === undefined) return true;
    const ok = /^\d+$/.test(value) && Number(value) >= this.config.minContentLength;
    if (!ok) this.stats.contentLengthTooSmall.inc();
    return ok;
  }

  private contentTypeAllowed(headers: HeaderMap): boolean {
    const value = first(headers['content-type']);
    return value === undefined || this.candidate.contentTypes.has(mediaType(value));
  }

  private etagAllowed(headers: HeaderMap): boolean {
    if (!this.config.disableOnEtagHeader || headers.etag === undefined) return true;
    this.stats.notCompressedEtag.inc();
    return false;
  }
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
