// One body being decompressed, in either direction (the decompressor filter): a StreamingTransform
// on a node:zlib inflater with Envoy's decompression bomb guard and Envoy's library error counters.
//
// The guard: the output may be at most maxInflateRatio times the compressed input taken so far
// (the proto's "accumulated input"; Envoy's code checks each decompress() call, one chunk). Output
// is checked as it comes, chunk_size at a time, so a bomb stops within a chunk of the limit and its
// expanded size is never made. A failure (corrupt or truncated data, the ratio exceeded) is counted
// once under the library's Envoy name and ends the decompression: nothing more is passed on.
import type { DecompressorLibrary } from '../../../config/model.ts';
import { createDecompressor } from './libraries.ts';
import { StreamingTransform, type BodySink } from './streaming-compressor.ts';

/** Envoy's counters under <prefix>decompressor.<name>.<library>.decompressor_library., by library. */
export const LIBRARY_STATS = {
  gzip: ['zlib_errno', 'zlib_stream_error', 'zlib_data_error', 'zlib_mem_error', 'zlib_buf_error', 'zlib_version_error'],
  brotli: ['brotli_error'],
  zstd: ['zstd_generic_error', 'zstd_dictionary_error', 'zstd_checksum_wrong_error', 'zstd_memory_error'],
} as const;

export type LibraryStat = (typeof LIBRARY_STATS)[keyof typeof LIBRARY_STATS][number];

/** Why a body could not be decompressed: the library counter it moves, and whether it was the guard. */
export interface DecompressionFailure {
  stat: LibraryStat;
  ratioExceeded: boolean;
  message: string;
}

export interface DecompressedSink extends Omit<BodySink, 'error'> {
  failed(failure: DecompressionFailure): void;
}

export class StreamingDecompressor extends StreamingTransform {
  private readonly kind: DecompressorLibrary['kind'];
  private readonly maxRatio: number;
  private readonly onFailure: (failure: DecompressionFailure) => void;
  private readonly onEnd: DecompressedSink['end'];
  private inBytes = 0;
  private outBytes = 0;
  private done = false;

  /** guard: Envoy's envoy.reloadable_features.enable_compression_bomb_protection (on by default). */
  constructor(library: DecompressorLibrary, queueBytes: number, guard: boolean, sink: DecompressedSink) {
    super(createDecompressor(library, queueBytes), { ...sink, error: () => {} });
    this.kind = library.kind;
    this.maxRatio = guard ? library.maxInflateRatio : Infinity;
    this.onFailure = sink.failed;
    this.onEnd = sink.end;
  }

  /** Compressed bytes taken in, and decompressed bytes passed on, so far. */
  get compressedBytes(): number {
    return this.inBytes;
  }

  get uncompressedBytes(): number {
    return this.outBytes;
  }

  override write(data: Buffer, endStream: boolean): void {
    if (this.done) return;
    this.inBytes += data.length;
    // An empty body is no compressed stream at all: it ends as it came (Envoy inflates nothing).
    if (endStream && this.inBytes === 0) return this.endEmpty(undefined);
    super.write(data, endStream);
  }

  override endWithTrailers(trailers: Parameters<StreamingTransform['endWithTrailers']>[0]): void {
    if (this.done) return;
    if (this.inBytes === 0) return this.endEmpty(trailers);
    super.endWithTrailers(trailers);
  }

  protected override output(chunk: Buffer): void {
    if (this.done) return;
    this.outBytes += chunk.length;
    if (this.outBytes > this.maxRatio * this.inBytes) {
      this.fail({
        stat: this.kind === 'gzip' ? 'zlib_data_error' : this.kind === 'brotli' ? 'brotli_error' : 'zstd_generic_error',
        ratioExceeded: true,
        message: `excessive decompression ratio: ${this.outBytes} bytes from ${this.inBytes}`,
      });
      return;
    }
    super.output(chunk);
  }

  protected override failure(err: Error): void {
    if (!this.done) this.fail({ stat: errorStat(this.kind, err), ratioExceeded: false, message: err.message });
  }

  private endEmpty(trailers: Parameters<StreamingTransform['endWithTrailers']>[0] | undefined): void {
    this.done = true;
    this.destroy();
    this.onEnd(trailers);
  }

  private fail(failure: DecompressionFailure): void {
    this.done = true;
    this.destroy();
    this.lower();
    this.onFailure(failure);
  }
}

// node:zlib's error codes -> the counter Envoy's library moves for the same failure. A body that
// ends before its compressed stream does is Z_BUF_ERROR in node for every library.
function errorStat(kind: DecompressorLibrary['kind'], err: Error): LibraryStat {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (kind === 'brotli') return 'brotli_error';
  if (kind === 'zstd') {
    if (code === 'ZSTD_error_checksum_wrong') return 'zstd_checksum_wrong_error';
    if (code === 'ZSTD_error_memory_allocation') return 'zstd_memory_error';
    if (code === 'ZSTD_error_dictionary_corrupted' || code === 'ZSTD_error_dictionary_wrong') return 'zstd_dictionary_error';
    return 'zstd_generic_error';
  }
  switch (code) {
    case 'Z_ERRNO':
      return 'zlib_errno';
    case 'Z_STREAM_ERROR':
      return 'zlib_stream_error';
    case 'Z_MEM_ERROR':
      return 'zlib_mem_error';
    case 'Z_BUF_ERROR':
      return 'zlib_buf_error';
    case 'Z_VERSION_ERROR':
      return 'zlib_version_error';
    default:
      return 'zlib_data_error';
  }
}
