// The compression libraries on node:zlib: one streaming compressor per body, flushed after every
// chunk written (Envoy's State::Flush) so each chunk of the body goes out as soon as it came in,
// and finished when the body ends; and one streaming decompressor per body for the decompressor
// filter (inflate emits what it can as each chunk arrives).
import type { Transform } from 'node:stream';
import { createRequire } from 'node:module';
import type { CompressorLibrary, DecompressorLibrary } from '../../../config/model.ts';

/** The content-encoding token a library produces (or undoes). */
export function contentEncoding(library: { kind: CompressorLibrary['kind'] }): string {
  return library.kind === 'brotli' ? 'br' : library.kind;
}

type NodeZlib = typeof import('node:zlib');
let loaded: NodeZlib | undefined;

// Required by the first body (de)compressed: a worker that compresses nothing never loads it.
function nodeZlib(): NodeZlib {
  return (loaded ??= createRequire(import.meta.url)('node:zlib') as NodeZlib);
}

/**
 * queueBytes: how much input may wait for the compressor before write() says to stop (the stream's
 * buffer limit, as Envoy's filters are held to).
 */
export function createCompressor(library: CompressorLibrary, queueBytes: number): Transform {
  const zlib = nodeZlib();
  const c = zlib.constants;
  // node:zlib passes stream options on to its Transform; its typings only name zlib's own.
  const queue = { writableHighWaterMark: queueBytes };
  switch (library.kind) {
    case 'gzip':
      return zlib.createGzip({
        ...queue,
        flush: c.Z_SYNC_FLUSH,
        level: library.level,
        strategy: library.strategy,
        memLevel: library.memoryLevel,
        windowBits: library.windowBits,
        chunkSize: library.chunkSize,
      });
    case 'brotli':
      return zlib.createBrotliCompress({
        ...queue,
        flush: c.BROTLI_OPERATION_FLUSH,
        chunkSize: library.chunkSize,
        params: {
          [c.BROTLI_PARAM_QUALITY]: library.quality,
          [c.BROTLI_PARAM_LGWIN]: library.windowBits,
          [c.BROTLI_PARAM_LGBLOCK]: library.inputBlockBits,
          [c.BROTLI_PARAM_MODE]: library.mode,
          [c.BROTLI_PARAM_DISABLE_LITERAL_CONTEXT_MODELING]: library.disableLiteralContextModeling ? 1 : 0,
        },
      });
    case 'zstd': {
      const params: Record<number, number> = {
        [c.ZSTD_c_compressionLevel]: library.level,
        [c.ZSTD_c_checksumFlag]: library.checksum ? 1 : 0,
      };
      // Strategy 0 leaves zstd to pick one for the level.
      if (library.strategy !== 0) params[c.ZSTD_c_strategy] = library.strategy;
      return zlib.createZstdCompress({ ...queue, flush: c.ZSTD_e_flush, chunkSize: library.chunkSize, params });
    }
  }
}

/** queueBytes as for createCompressor: how much compressed input may wait before write() says to stop. */
export function createDecompressor(library: DecompressorLibrary, queueBytes: number): Transform {
  const zlib = nodeZlib();
  const queue = { writableHighWaterMark: queueBytes, chunkSize: library.chunkSize };
  switch (library.kind) {
    case 'gzip':
      // Envoy ORs 16 into window_bits: the gzip format only, as createGunzip reads.
      return zlib.createGunzip({ ...queue, windowBits: library.windowBits });
    case 'brotli': {
      const c = zlib.constants;
      return zlib.createBrotliDecompress({ ...queue, params: { [c.BROTLI_DECODER_PARAM_DISABLE_RING_BUFFER_REALLOCATION]: library.disableRingBufferReallocation ? 1 : 0 } });
    }
    case 'zstd':
      return zlib.createZstdDecompress(queue);
  }
}
