// set_filter_state's values (envoy.extensions.filters.common.set_filter_state.v3.FilterStateValue),
// for the HTTP filter's on_request_headers and the network filter's on_new_connection. A factory
// Legate has no object for is refused, as Envoy refuses an unknown factory; the format string is
// checked as the access log's formatter will run it.
import { hasObjectFactory, objectFactoryNames } from '../../filter-state/index.ts';
import { indexPath, joinPath } from '../errors.ts';
import type { FilterStateValue, SetFilterStateConfig } from '../model.ts';
import { bool, dataSourceText, list, obj, reject, str, type Raw } from './common.ts';
import { checkFormat } from './access-log.ts';

const SHARING = ['NONE', 'ONCE', 'TRANSITIVE'] as const;

export function setFilterStateConfig(raw: Raw, path: string): SetFilterStateConfig {
  return { onRequestHeaders: filterStateValues(raw, 'on_request_headers', path) };
}

export function filterStateValues(raw: Raw, key: string, path: string): FilterStateValue[] {
  return list(raw, key).map((value, i) => filterStateValue(value, indexPath(joinPath(path, key), i)));
}

function filterStateValue(raw: Raw, path: string): FilterStateValue {
  const objectKey = str(raw, 'object_key');
  if (objectKey === '') reject(joinPath(path, 'object_key'), 'required field is missing', 'name the filter state object, e.g. envoy.string objects under your own key');
  const factoryKey = str(raw, 'factory_key') || objectKey;
  if (!hasObjectFactory(factoryKey)) {
    reject(
      joinPath(path, raw.factory_key === undefined || raw.factory_key === '' ? 'object_key' : 'factory_key'),
      `not supported by Legate: filter state object factory '${factoryKey}'`,
      `use one of ${objectFactoryNames().join(', ')} (factory_key: envoy.string for a key of your own)`,
    );
  }
  const sharing = str(raw, 'shared_with_upstream', 'NONE');
  if (!(SHARING as readonly string[]).includes(sharing)) reject(joinPath(path, 'shared_with_upstream'), `unknown value '${sharing}'`, 'use NONE, ONCE or TRANSITIVE');
  return {
    objectKey,
    factoryKey,
    format: formatString(obj(raw, 'format_string'), joinPath(path, 'format_string')),
    readOnly: bool(raw, 'read_only', false),
    sharedWithUpstream: sharing as FilterStateValue['sharedWithUpstream'],
    skipIfEmpty: bool(raw, 'skip_if_empty', false),
  };
}

// The value's SubstitutionFormatString: a text format (a JSON one would make a JSON object's text).
function formatString(raw: Raw | undefined, path: string): string {
  if (raw === undefined) return reject(path, 'required field is missing', 'give the value a format_string, e.g. { text_format_source: { inline_string: "%REQ(:AUTHORITY)%" } }');
  let format: string;
  if (raw.text_format !== undefined) format = str(raw, 'text_format');
  else if (raw.text_format_source !== undefined) format = dataSourceText(obj(raw, 'text_format_source')!, joinPath(path, 'text_format_source'));
  else return reject(joinPath(path, 'json_format'), 'not supported by Legate: a JSON format for a filter state value', 'use text_format_source');
  checkFormat(format, path);
  return format;
}
