// envoy.filters.http.compressor and its compressor libraries (gzip, brotli, zstd) -> CompressorConfig,
// with Envoy's defaults. Each library field becomes the node:zlib option it maps to; what Legate
// does not build (zstd dictionaries, in support.ts) is rejected by name.
import { joinPath } from '../errors.ts';
import { BROTLI_COMPRESSOR_TYPE, GZIP_COMPRESSOR_TYPE, ZSTD_COMPRESSOR_TYPE } from '../extensions.ts';
import type { CompressorConfig, CompressorLibrary, CompressorPerRouteConfig } from '../model.ts';
import { enumNumber } from '../protos.ts';
import { bool, num, obj, reject, str, strings } from './common.ts';
import type { Raw } from './common.ts';

// Envoy's default content types (compressor_filter.cc's defaultContentEncoding).
const DEFAULT_CONTENT_TYPES = [
  'text/html',
  'text/plain',
  'text/css',
  'application/javascript',
  'application/x-javascript',
  'text/javascript',
  'text/x-javascript',
  'text/ecmascript',
  'text/js',
  'text/jscript',
  'text/x-js',
  'application/ecmascript',
  'application/x-json',
  'application/xml',
  'application/json',
  'image/svg+xml',
  'text/xml',
  'application/xhtml+xml',
  'application/grpc-web',
  'application/grpc-web+proto',
];

const DEFAULT_MIN_CONTENT_LENGTH = 30;

export function compressorConfig(raw: Raw, path: string): CompressorConfig {
  const libraryRaw = obj(raw, 'compressor_library');
  if (libraryRaw === undefined) reject(joinPath(path, 'compressor_library'), 'required field is missing', 'add a compressor_library (gzip, brotli or zstd)');
  const libraryPath = joinPath(path, 'compressor_library');
  // Envoy compresses request bodies whenever request_direction_config is present, unless disabled.
  const requestCommon = obj(obj(raw, 'request_direction_config') ?? {}, 'common_config') ?? {};
  const requestFlag = obj(requestCommon, 'enabled');
  const requestKey = str(requestFlag ?? {}, 'runtime_key');
  const request = raw.request_direction_config !== undefined && (featureEnabled(requestFlag) || requestKey !== '') ? requestCommon : undefined;
  const direction = obj(raw, 'response_direction_config');
  // Without response_direction_config Envoy reads the deprecated top-level fields.
  const common = direction !== undefined ? obj(direction, 'common_config') ?? {} : legacyCommonConfig(raw);
  const config: CompressorConfig = {
    libraryName: str(libraryRaw, 'name'),
    library: compressorLibrary(obj(libraryRaw, 'typed_config') ?? {}, joinPath(libraryPath, 'typed_config')),
    chooseFirst: bool(raw, 'choose_first', false),
    response: {
      enabled: featureEnabled(obj(common, 'enabled')),
      ...runtimeFlagKey(obj(common, 'enabled')),
      ...lengthAndTypes(common),
      disableOnEtagHeader: bool(direction ?? raw, 'disable_on_etag_header', false),
      removeAcceptEncodingHeader: bool(direction ?? raw, 'remove_accept_encoding_header', false),
      statsUnder: direction !== undefined ? 'response.' : '',
    },
  };
  if (request !== undefined) {
    config.request = lengthAndTypes(request);
    if (requestKey !== '') config.request.enabledKey = requestKey;
    if (!featureEnabled(requestFlag)) config.request.enabledByDefault = false;
  }
  return config;
}

// A CommonDirectionConfig's min_content_length and content_type, Envoy's defaults when unset.
function lengthAndTypes(common: Raw): { minContentLength: number; contentTypes: string[] } {
  const types = strings(common, 'content_type');
  return {
    minContentLength: num(common, 'min_content_length', 0) || DEFAULT_MIN_CONTENT_LENGTH,
    contentTypes: (types.length > 0 ? types : DEFAULT_CONTENT_TYPES).map((t) => t.toLowerCase()),
  };
}

// The schema has checked the oneof: disabled (only ever true) or overrides.
export function compressorPerRouteConfig(raw: Raw): CompressorPerRouteConfig {
  if (raw.disabled === true) return { responseEnabled: false };
  const response = obj(obj(raw, 'overrides') ?? {}, 'response_direction_config');
  if (response === undefined) return {};
  const out: CompressorPerRouteConfig = { responseEnabled: true };
  if (response.remove_accept_encoding_header !== undefined) out.removeAcceptEncodingHeader = bool(response, 'remove_accept_encoding_header', false);
  return out;
}

function legacyCommonConfig(raw: Raw): Raw {
  const common: Raw = { content_type: strings(raw, 'content_type') };
  if (raw.content_length !== undefined) common.min_content_length = raw.content_length;
  if (raw.runtime_enabled !== undefined) common.enabled = raw.runtime_enabled;
  return common;
}

// A RuntimeFeatureFlag's default_value (true when unset); its runtime_key, when the runtime sets
// it, decides per request instead.
export function featureEnabled(flag: Raw | undefined): boolean {
  return flag === undefined ? true : bool(flag, 'default_value', true);
}

export function runtimeFlagKey(flag: Raw | undefined): { enabledKey?: string } {
  const key = str(flag ?? {}, 'runtime_key');
  return key === '' ? {} : { enabledKey: key };
}

function compressorLibrary(raw: Raw, path: string): CompressorLibrary {
  const type = String(raw['@type']);
  switch (type) {
    case GZIP_COMPRESSOR_TYPE: {
      // DEFAULT_COMPRESSION (0) is zlib's Z_DEFAULT_COMPRESSION; the strategies share zlib's numbers.
      const level = enumNumber(`${GZIP_COMPRESSOR_TYPE}.CompressionLevel`, str(raw, 'compression_level', 'DEFAULT_COMPRESSION')) ?? 0;
      return {
        kind: 'gzip',
        level: level === 0 ? -1 : level,
        strategy: enumNumber(`${GZIP_COMPRESSOR_TYPE}.CompressionStrategy`, str(raw, 'compression_strategy', 'DEFAULT_STRATEGY')) ?? 0,
        memoryLevel: num(raw, 'memory_level', 5),
        windowBits: num(raw, 'window_bits', 12),
        chunkSize: num(raw, 'chunk_size', 4096),
      };
    }
    case BROTLI_COMPRESSOR_TYPE: {
      // Envoy's DEFAULT and GENERIC are brotli's generic mode (0); TEXT and FONT follow.
      const mode = enumNumber(`${BROTLI_COMPRESSOR_TYPE}.EncoderMode`, str(raw, 'encoder_mode', 'DEFAULT')) ?? 0;
      return {
        kind: 'brotli',
        quality: num(raw, 'quality', 3),
        windowBits: num(raw, 'window_bits', 18),
        inputBlockBits: num(raw, 'input_block_bits', 24),
        mode: Math.max(0, mode - 1),
        disableLiteralContextModeling: bool(raw, 'disable_literal_context_modeling', false),
        chunkSize: num(raw, 'chunk_size', 4096),
      };
    }
    case ZSTD_COMPRESSOR_TYPE: {
      if (process.versions.zstd === undefined) reject(path, 'the zstd compressor needs a Node.js built with zstd (22.15 or later)', 'use gzip or brotli, or a newer Node.js');
      const level = num(raw, 'compression_level', 0);
      if (level > 22) reject(joinPath(path, 'compression_level'), `zstd compression_level ${level} is above zstd's maximum, 22`, 'use 1 to 22 (0: the default, 3)');
      return {
        kind: 'zstd',
        level: level === 0 ? 3 : level,
        strategy: enumNumber(`${ZSTD_COMPRESSOR_TYPE}.Strategy`, str(raw, 'strategy', 'DEFAULT')) ?? 0,
        checksum: bool(raw, 'enable_checksum', false),
        chunkSize: num(raw, 'chunk_size', 4096),
      };
    }
    default:
      return reject(path, `compressor library '${type}' is not supported by Legate`, `use one of ${GZIP_COMPRESSOR_TYPE}, ${BROTLI_COMPRESSOR_TYPE}, ${ZSTD_COMPRESSOR_TYPE}`);
  }
}
