// Access logs: the StreamInfo of a finished stream, Envoy's format operators, filters and sinks.
export { StreamInfo, type HeaderMap } from './stream-info.ts';
export { metadataValueAt } from './metadata-value.ts';
export { RESPONSE_FLAG_NAMES, formatResponseFlags, responseFlagBit, type ResponseFlagName } from './response-flags.ts';
export { compileFormat, compileTemplate, validateFormat, DEFAULT_FORMAT } from './format.ts';
export { compileFilter } from './filter.ts';
export { acquireSink, flushAllSinks, reopenFileSinks, type AccessLogSink, type SinkOptions } from './sinks.ts';
export { createAccessLogger, type AccessLogger } from './logger.ts';
