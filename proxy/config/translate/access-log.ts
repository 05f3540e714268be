// envoy.config.accesslog.v3.AccessLog -> AccessLog: file, stdout and stderr loggers, with text
// or JSON formats and the status/duration/response-flag/health-check filters.
import { validateFormat } from '../../access-log/format.ts';
import { indexPath, joinPath } from '../errors.ts';
import { FILE_LOG_TYPE, STDERR_LOG_TYPE, STDOUT_LOG_TYPE } from '../extensions.ts';
import type { AccessLog, AccessLogFilter, AccessLogFormat } from '../model.ts';
import { dataSourceText, list, obj, reject, str, strings } from './common.ts';
import type { Raw } from './common.ts';

// Envoy's default access log format.
export const DEFAULT_ACCESS_LOG_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% ' +
  '%RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% ' +
  '"%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

export function translateAccessLogs(raw: Raw, key: string, path: string): AccessLog[] {
  return list(raw, key).map((log, i) => translateAccessLog(log, indexPath(joinPath(path, key), i)));
}

function translateAccessLog(raw: Raw, path: string): AccessLog {
  const name = str(raw, 'name');
  const config = obj(raw, 'typed_config');
  const configPath = joinPath(path, 'typed_config');
  if (config === undefined) reject(configPath, 'required field is missing', `set typed_config, e.g. "@type": type.googleapis.com/${STDOUT_LOG_TYPE}`);
  const log: AccessLog = { name, ...loggerOf(config, configPath) };
  // Envoy refuses a format with an operator it lacks when the config loads, not at the first request.
  const field = ['format', 'json_format', 'typed_json_format'].find((f) => config[f] !== undefined) ?? 'log_format';
  checkFormat(log.format, joinPath(configPath, field));
  const filter = obj(raw, 'filter');
  if (filter !== undefined) log.filter = translateFilter(filter, joinPath(path, 'filter'));
  return log;
}

function loggerOf(config: Raw, path: string): Pick<AccessLog, 'sink' | 'format'> {
  switch (config['@type']) {
    case FILE_LOG_TYPE:
      return { sink: { kind: 'file', path: str(config, 'path') }, format: fileFormat(config, path) };
    case STDOUT_LOG_TYPE:
      return { sink: { kind: 'stdout' }, format: substitutionFormat(obj(config, 'log_format'), joinPath(path, 'log_format')) };
    case STDERR_LOG_TYPE:
    default:
      return { sink: { kind: 'stderr' }, format: substitutionFormat(obj(config, 'log_format'), joinPath(path, 'log_format')) };
  }
}

// FileAccessLog still accepts its pre-log_format fields.
function fileFormat(config: Raw, path: string): AccessLogFormat {
  if (config.format !== undefined) return { kind: 'text', template: str(config, 'format') };
  const json = obj(config, 'json_format') ?? obj(config, 'typed_json_format');
  if (json !== undefined) return { kind: 'json', fields: json };
  return substitutionFormat(obj(config, 'log_format'), joinPath(path, 'log_format'));
}

// envoy.config.core.v3.SubstitutionFormatString
function substitutionFormat(raw: Raw | undefined, path: string): AccessLogFormat {
  if (raw === undefined) return { kind: 'text', template: DEFAULT_ACCESS_LOG_FORMAT };
  if (raw.text_format !== undefined) return { kind: 'text', template: str(raw, 'text_format') };
  const source = obj(raw, 'text_format_source');
  if (source !== undefined) return { kind: 'text', template: dataSourceText(source, joinPath(path, 'text_format_source')) };
  const json = obj(raw, 'json_format');
  if (json !== undefined) return { kind: 'json', fields: json };
  return { kind: 'text', template: DEFAULT_ACCESS_LOG_FORMAT };
}

function translateFilter(raw: Raw, path: string): AccessLogFilter {
  for (const kind of ['status_code', 'duration'] as const) {
    const filter = obj(raw, `${kind}_filter`);
    if (filter === undefined) continue;
    const comparison = obj(filter, 'comparison') as Raw;
    const value = obj(comparison, 'value') as Raw;
    return { kind, op: str(comparison, 'op', 'EQ') as 'EQ' | 'GE' | 'LE', value: (value.default_value as number | undefined) ?? 0 };
  }
  if (raw.not_health_check_filter !== undefined) return { kind: 'not_health_check' };
  const flags = obj(raw, 'response_flag_filter');
  if (flags !== undefined) return { kind: 'response_flag', flags: strings(flags, 'flags') };
  for (const kind of ['and', 'or'] as const) {
    const group = obj(raw, `${kind}_filter`);
    if (group === undefined) continue;
    const filtersPath = joinPath(path, `${kind}_filter.filters`);
    const filters = list(group, 'filters');
    if (filters.length < 2) reject(filtersPath, `${kind}_filter needs at least 2 filters`, 'add filters or use the filter directly');
    return { kind, filters: filters.map((f, i) => translateFilter(f, indexPath(filtersPath, i))) };
  }
  return reject(path, 'the filter is empty', 'set one of status_code_filter, duration_filter, not_health_check_filter, response_flag_filter, and_filter, or_filter');
}

/**
 * A format string (or an access log's whole format) as the formatter would compile it: an operator
 * it lacks is refused as not supported, any other fault by its message. Access logs, tunnel
 * hostnames and headers, and set_filter_state's values are formatted by it.
 */
export function checkFormat(format: string | AccessLogFormat, path: string): void {
  if (typeof format === 'string' && !format.includes('%')) return;
  const fault = validateFormat(format);
  if (fault === null) return;
  const error = fault.replace(/^access log format: /, '');
  if (error.startsWith('unknown command operator')) reject(path, `not supported by Legate: ${error}`, "use the access log's command operators (see proxy/access-log/README.md)");
  reject(path, error, 'fix the format string');
}
