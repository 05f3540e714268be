// envoy.filters.http.decompressor and its decompressor libraries (gzip, brotli, zstd) ->
// DecompressorConfig, with Envoy's defaults. Each library field becomes the node:zlib option it
// maps to; what Legate does not build (zstd dictionaries, in support.ts) is refused by name, and so
// is a library type that is not a decompressor Legate has.
import { joinPath } from '../errors.ts';
import { BROTLI_DECOMPRESSOR_TYPE, GZIP_DECOMPRESSOR_TYPE, ZSTD_DECOMPRESSOR_TYPE } from '../extensions.ts';
import type { DecompressorConfig, DecompressorDirection, DecompressorLibrary } from '../model.ts';
import { bool, num, obj, reject, str } from './common.ts';
import type { Raw } from './common.ts';
import { featureEnabled, runtimeFlagKey } from './compressor.ts';

// Envoy's defaults (the libraries' config.cc): zlib's largest window, so any gzip stream inflates;
// 4 KiB output chunks (zstd: ZSTD_DStreamOutSize(), one whole block); the bomb guard at 100.
const DEFAULT_GZIP_WINDOW_BITS = 15;
const DEFAULT_CHUNK_SIZE = 4096;
const DEFAULT_ZSTD_CHUNK_SIZE = 128 * 1024;
const DEFAULT_MAX_INFLATE_RATIO = 100;

export function decompressorConfig(raw: Raw, path: string): DecompressorConfig {
  const libraryRaw = obj(raw, 'decompressor_library');
  if (libraryRaw === undefined) reject(joinPath(path, 'decompressor_library'), 'required field is missing', 'add a decompressor_library (gzip, brotli or zstd)');
  const request = obj(raw, 'request_direction_config') ?? {};
  const response = obj(raw, 'response_direction_config') ?? {};
  return {
    libraryName: str(libraryRaw, 'name'),
    library: decompressorLibrary(obj(libraryRaw, 'typed_config') ?? {}, joinPath(joinPath(path, 'decompressor_library'), 'typed_config')),
    request: { ...direction(obj(request, 'common_config')), advertiseAcceptEncoding: bool(request, 'advertise_accept_encoding', true) },
    response: direction(obj(response, 'common_config')),
  };
}

// A CommonDirectionConfig: decompression is on unless its enabled flag says otherwise.
function direction(common: Raw | undefined): DecompressorDirection {
  const flag = obj(common ?? {}, 'enabled');
  return { enabled: featureEnabled(flag), ...runtimeFlagKey(flag), ignoreNoTransformHeader: bool(common ?? {}, 'ignore_no_transform_header', false) };
}

function decompressorLibrary(raw: Raw, path: string): DecompressorLibrary {
  const type = String(raw['@type']);
  switch (type) {
    case GZIP_DECOMPRESSOR_TYPE:
      return {
        kind: 'gzip',
        windowBits: num(raw, 'window_bits', DEFAULT_GZIP_WINDOW_BITS),
        chunkSize: num(raw, 'chunk_size', DEFAULT_CHUNK_SIZE),
        maxInflateRatio: num(raw, 'max_inflate_ratio', DEFAULT_MAX_INFLATE_RATIO),
      };
    case BROTLI_DECOMPRESSOR_TYPE:
      return {
        kind: 'brotli',
        disableRingBufferReallocation: bool(raw, 'disable_ring_buffer_reallocation', false),
        chunkSize: num(raw, 'chunk_size', DEFAULT_CHUNK_SIZE),
        maxInflateRatio: DEFAULT_MAX_INFLATE_RATIO, // fixed in Envoy's brotli decompressor
      };
    case ZSTD_DECOMPRESSOR_TYPE:
      if (process.versions.zstd === undefined) reject(path, 'the zstd decompressor needs a Node.js built with zstd (22.15 or later)', 'use gzip or brotli, or a newer Node.js');
      return {
        kind: 'zstd',
        chunkSize: num(raw, 'chunk_size', DEFAULT_ZSTD_CHUNK_SIZE),
        maxInflateRatio: DEFAULT_MAX_INFLATE_RATIO, // fixed in Envoy's zstd decompressor
      };
    default:
      return reject(path, `decompressor library '${type}' is not supported by Legate`, `use one of ${GZIP_DECOMPRESSOR_TYPE}, ${BROTLI_DECOMPRESSOR_TYPE}, ${ZSTD_DECOMPRESSOR_TYPE}`);
  }
}
