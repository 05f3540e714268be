// envoy.filters.http.decompressor: decompresses request and response bodies with one library (gzip,
// brotli, zstd on node:zlib), as Envoy's DecompressorFilter. A body is decompressed when its
// direction is enabled (common_config.enabled, a runtime flag), it has one, cache-control has no
// no-transform (unless ignore_no_transform_header), and the first coding of its content-encoding
// is the library's (case-insensitive, Envoy's "outermost"). Then that coding leaves content-encoding
// (the header goes when it was the only one), content-length goes (the body streams chunked), and
// x-envoy-decompressor-<name>-compressed-bytes / -uncompressed-bytes trailers end the body. With
// request_direction_config.advertise_accept_encoding (the default) and response decompression on,
// the library's coding is added to the request's accept-encoding. A route's FilterConfig
// disabled: true turns the filter off there; Envoy has no other per-route config for it.
//
// The body streams through: the inflater's input queue holds the sender back past its watermark,
// and a response's output pauses while the downstream is backed up. Envoy's bomb guard stops a
// body whose output outgrows max_inflate_ratio times its input (compression/streaming-decompressor.ts).
// Where Envoy passes a body cut short when its library fails (corrupt data, the guard) and counts
// the failure, Legate counts it under the same name and does not pass the short body off as whole:
// a request not yet answered gets 400 (413 for the guard), anything else is reset.
//
// Stats, Envoy's: http.<stat_prefix>.decompressor.<library name>.<gzip|brotli|zstd>.
// {request,response}.{decompressed, not_decompressed, total_compressed_bytes,
// total_uncompressed_bytes} and .decompressor_library.<the library's error counters>.
import type { HeaderMap, ResponseHeaders } from '../../codec/index.ts';
import type { DecompressorConfig, DecompressorDirection, DecompressorLibrary } from '../../config/model.ts';
import type { FilterStatus, WatermarkCallbacks } from '../../http-filter/index.ts';
import { runtime } from '../../runtime/index.ts';
import type { Counter, Store } from '../../stats/index.ts';
import type { HttpStream } from '../stream.ts';
import { contentEncoding } from './compression/libraries.ts';
import { LIBRARY_STATS, StreamingDecompressor, type DecompressionFailure, type LibraryStat } from './compression/streaming-decompressor.ts';
import type { FilterContext, HttpFilterInstance } from './filter-context.ts';
import { isDisabled, perRouteConfig } from './per-route-config.ts';

// How much compressed input may wait for the inflater. Small on purpose: what waits here can still
// expand (up to the ratio) after the receiver backs up, before the sender is paused.
const QUEUE_BYTES = 128 * 1024;
const BOMB_PROTECTION_KEY = 'envoy.reloadable_features.enable_compression_bomb_protection';

/** A direction's rules and counters (Envoy's DirectionConfig). */
class Direction {
  private readonly config: DecompressorDirection;
  readonly decompressed: Counter;
  readonly notDecompressed: Counter;
  readonly totalCompressedBytes: Counter;
  readonly totalUncompressedBytes: Counter;

  constructor(config: DecompressorDirection, store: Store, prefix: string) {
    this.config = config;
    this.decompressed = store.counter(`${prefix}decompressed`);
    this.notDecompressed = store.counter(`${prefix}not_decompressed`);
    this.totalCompressedBytes = store.counter(`${prefix}total_compressed_bytes`);
    this.totalUncompressedBytes = store.counter(`${prefix}total_uncompressed_bytes`);
  }

  /** The RuntimeFeatureFlag: its runtime key, when the runtime sets it, decides. */
  enabled(): boolean {
    const { enabledKey, enabled } = this.config;
    return enabledKey === undefined ? enabled : runtime.snapshot.getBoolean(enabledKey, enabled);
  }

  get ignoreNoTransformHeader(): boolean {
    return this.config.ignoreNoTransformHeader;
  }
}

export class DecompressorFilter implements HttpFilterInstance {
  private readonly name: string;
  private readonly library: DecompressorLibrary;
  private readonly encoding: string;
  private readonly advertise: boolean;
  private readonly request: Direction;
  private readonly response: Direction;
  private readonly libraryStats: Map<LibraryStat, Counter>;
  private readonly compressedTrailer: string;
  private readonly uncompressedTrailer: string;
  private readonly requestBodies = new WeakMap<HttpStream, StreamingDecompressor>();
  private readonly responseBodies = new WeakMap<HttpStream, StreamingDecompressor>();

  constructor(config: DecompressorConfig, ctx: FilterContext, name: string) {
    this.name = name;
    this.library = config.library;
    this.encoding = contentEncoding(config.library);
    this.advertise = config.request.advertiseAcceptEncoding;
    // The library's stats prefix is its kind: gzip., brotli., zstd.
    const prefix = `http.${ctx.statPrefix}.decompressor.${config.libraryName}.${config.library.kind}.`;
    this.request = new Direction(config.request, ctx.store, `${prefix}request.`);
    this.response = new Direction(config.response, ctx.store, `${prefix}response.`);
    this.libraryStats = new Map(LIBRARY_STATS[config.library.kind].map((stat) => [stat, ctx.store.counter(`${prefix}decompressor_library.${stat}`)]));
    const trailer = `x-envoy-decompressor-${config.libraryName.toLowerCase()}`;
    this.compressedTrailer = `${trailer}-compressed-bytes`;
    this.uncompressedTrailer = `${trailer}-uncompressed-bytes`;
  }

  decodeHeaders(stream: HttpStream, endStream: boolean): FilterStatus {
    if (isDisabled(perRouteConfig(stream, this.name))) return 'continue';
    const headers = stream.head.headers;
    // This hop can decompress responses: say so upstream, even on a request without a body.
    if (this.advertise && this.response.enabled()) headers['accept-encoding'] = addEncodingToAcceptEncoding(joined(headers['accept-encoding']), this.encoding);
    if (endStream) return 'continue';
    if (!this.shouldDecompress(this.request, stream, headers)) {
      this.request.notDecompressed.inc();
      return 'continue';
    }
    this.decompressing(this.request, headers);
    const body: StreamingDecompressor = new StreamingDecompressor(this.library, queueBytes(stream), bombProtection(), {
      data: (chunk) => {
        this.request.totalUncompressedBytes.inc(chunk.length);
        stream.injectDecodedData(this, chunk, false);
      },
      end: (trailers) => stream.injectDecodedTrailers(this, this.withByteCounts(trailers, body)),
      // Too much compressed request waiting: stop reading the client until it drains.
      backedUp: (above) => stream.readDisable(above),
      failed: (failure) => this.requestFailed(stream, failure),
    });
    this.requestBodies.set(stream, body);
    stream.onDestroy({ onStreamDestroy: () => body.destroy() });
    return 'continue';
  }

  decodeData(stream: HttpStream, data: Buffer, endStream: boolean): FilterStatus {
    return this.take(this.requestBodies.get(stream), this.request, data, endStream);
  }

  decodeTrailers(stream: HttpStream, trailers: HeaderMap): FilterStatus {
    return endWithTrailers(this.requestBodies.get(stream), trailers);
  }

  encodeHeaders(stream: HttpStream, response: ResponseHeaders, endStream: boolean): FilterStatus {
    if (endStream || isDisabled(perRouteConfig(stream, this.name))) return 'continue';
    const headers = response.headers;
    if (!this.shouldDecompress(this.response, stream, headers)) {
      this.response.notDecompressed.inc();
      return 'continue';
    }
    this.decompressing(this.response, headers);
    // The body now ends in the byte-count trailers, whatever the upstream's framing promised.
    response.noTrailers = false;
    const flow = new DownstreamFlow(stream);
    const body: StreamingDecompressor = new StreamingDecompressor(this.library, queueBytes(stream), bombProtection(), {
      data: (chunk) => {
        this.response.totalUncompressedBytes.inc(chunk.length);
        stream.injectEncodedData(this, chunk, false);
      },
      end: (trailers) => {
        flow.over = true;
        stream.injectEncodedTrailers(this, this.withByteCounts(trailers, body));
      },
      backedUp: (above) => flow.inputBackedUp(above),
      failed: (failure) => {
        flow.over = true;
        this.responseFailed(stream, failure);
      },
    });
    flow.body = body;
    stream.addWatermarkCallbacks(flow);
    this.responseBodies.set(stream, body);
    stream.onDestroy({ onStreamDestroy: () => body.destroy() });
    return 'continue';
  }

  encodeData(stream: HttpStream, data: Buffer, endStream: boolean): FilterStatus {
    return this.take(this.responseBodies.get(stream), this.response, data, endStream);
  }

  encodeTrailers(stream: HttpStream, trailers: HeaderMap): FilterStatus {
    return endWithTrailers(this.responseBodies.get(stream), trailers);
  }

  // Envoy's maybeInitDecompress. A tunnel (an upgrade or CONNECT) carries bytes, not a body.
  private shouldDecompress(direction: Direction, stream: HttpStream, headers: HeaderMap): boolean {
    return (
      direction.enabled() &&
      stream.upgradeType === undefined &&
      (direction.ignoreNoTransformHeader || !hasToken(headers['cache-control'], 'no-transform')) &&
      firstCoding(headers['content-encoding']) === this.encoding
    );
  }

  private decompressing(direction: Direction, headers: HeaderMap): void {
    direction.decompressed.inc();
    delete headers['content-length'];
    const rest = withoutFirstCoding(headers['content-encoding']);
    if (rest === undefined) delete headers['content-encoding'];
    else headers['content-encoding'] = rest;
  }

  // A body being decompressed takes every chunk ('stop'); the decompressed chunks are injected instead.
  private take(body: StreamingDecompressor | undefined, direction: Direction, data: Buffer, endStream: boolean): FilterStatus {
    if (body === undefined) return 'continue';
    direction.totalCompressedBytes.inc(data.length);
    body.write(data, endStream);
    return 'stop';
  }

  private withByteCounts(trailers: HeaderMap | undefined, body: StreamingDecompressor): HeaderMap {
    return { ...trailers, [this.compressedTrailer]: String(body.compressedBytes), [this.uncompressedTrailer]: String(body.uncompressedBytes) };
  }

  private requestFailed(stream: HttpStream, failure: DecompressionFailure): void {
    this.libraryStats.get(failure.stat)!.inc();
    const details = `request_decompression_failed{${failure.stat}}`;
    // Not yet answered: the client hears why (sendLocalReply resets a stream already answering).
    if (failure.ratioExceeded) stream.sendLocalReply(413, 'Payload Too Large', '', details);
    else stream.sendLocalReply(400, 'Bad Request', '', details);
  }

  private responseFailed(stream: HttpStream, failure: DecompressionFailure): void {
    this.libraryStats.get(failure.stat)!.inc();
    // The response has started: only a reset tells the client its body is not whole.
    stream.info.responseCodeDetails = `response_decompression_failed{${failure.stat}}`;
    stream.resetStream();
  }
}

/**
 * A response body's flow control. Its output pauses while the downstream is backed up (the
 * stream's watermark callbacks, the signal the router pauses the upstream on), and its input queue
 * above the watermark holds the upstream back, as the compressor's does. The callbacks report one
 * state for the codec and every encode filter together, so this filter's own report must not pause
 * it (its queue could never drain), and it does not report while paused (the upstream waits
 * already, and the report would hold that state raised after the downstream drained).
 */
class DownstreamFlow implements WatermarkCallbacks {
  body: StreamingDecompressor | undefined = undefined;
  over = false;
  private readonly stream: HttpStream;
  private paused = false;
  private inputAbove = false;
  private reported = false;
  private reporting = false;

  constructor(stream: HttpStream) {
    this.stream = stream;
  }

  onAboveWriteBufferHighWatermark(): void {
    if (this.reporting || this.over || this.paused) return;
    this.paused = true;
    this.body?.pause();
  }

  onBelowWriteBufferLowWatermark(): void {
    if (this.reporting || this.over || !this.paused) return;
    this.paused = false;
    this.body?.resume();
    if (this.inputAbove && !this.reported) this.report(true);
  }

  inputBackedUp(above: boolean): void {
    this.inputAbove = above;
    if (above ? !this.paused && !this.reported : this.reported) this.report(above);
  }

  private report(above: boolean): void {
    this.reporting = true;
    this.reported = above;
    try {
      if (above) this.stream.onEncoderFilterAboveWriteBufferHighWatermark();
      else this.stream.onEncoderFilterBelowWriteBufferLowWatermark();
    } finally {
      this.reporting = false;
    }
  }
}

function queueBytes(stream: HttpStream): number {
  return Math.min(stream.connection.hcm.bufferLimitBytes, QUEUE_BYTES);
}

function bombProtection(): boolean {
  return runtime.snapshot.getBoolean(BOMB_PROTECTION_KEY, true);
}

function endWithTrailers(body: StreamingDecompressor | undefined, trailers: HeaderMap): FilterStatus {
  if (body === undefined) return 'continue';
  body.endWithTrailers(trailers);
  return 'stop';
}

export function createDecompressorFilter(config: unknown, ctx: FilterContext, name: string): HttpFilterInstance {
  return new DecompressorFilter(config as DecompressorConfig, ctx, name);
}

// A header given on several lines is one comma-separated list.
function joined(value: string | string[] | undefined): string {
  return value === undefined ? '' : Array.isArray(value) ? value.join(',') : value;
}

function hasToken(value: string | string[] | undefined, token: string): boolean {
  return joined(value)
    .split(',')
    .some((t) => t.trim().toLowerCase() === token);
}

/** The first coding of a content-encoding, lower case (Envoy compares it case-insensitively). */
export function firstCoding(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const all = joined(value);
  const comma = all.indexOf(',');
  return (comma === -1 ? all : all.slice(0, comma)).trim().toLowerCase();
}

/** The content-encoding after its first coding is undone: the rest, or undefined for none (Envoy's modifyContentEncoding). */
export function withoutFirstCoding(value: string | string[] | undefined): string | undefined {
  const all = joined(value).trim();
  const comma = all.indexOf(',');
  if (comma === -1) return undefined;
  const rest = all.slice(comma + 1).trim();
  return rest === '' ? undefined : rest;
}

/**
 * Envoy's HeaderUtility::addEncodingToAcceptEncoding: the coding goes last, without a q-value (the
 * highest), and any earlier mention of it goes; the rest keep their order and q-values.
 */
export function addEncodingToAcceptEncoding(header: string, encoding: string): string {
  const kept = header
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '' && t.split(';')[0].trim() !== encoding);
  kept.push(encoding);
  return kept.join(',');
}
