// Access log formats are compiled when the config is translated, as Envoy does at load: an operator
// the formatter lacks is refused as not supported, naming the field, in text and JSON formats and
// in FileAccessLog's older fields; valid formats pass.
import t from 'tap';
import { translateListener } from '../../../proxy/config/index.ts';

const FILE_LOG = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const listenerWithLog = (logConfig: object) => ({
  name: 'l',
  address: { socket_address: { address: '127.0.0.1', port_value: 10000 } },
  filter_chains: [{ filters: [{ name: 'hcm', typed_config: {
    '@type': HCM,
    stat_prefix: 'x',
    access_log: [{ name: 'file', typed_config: { '@type': FILE_LOG, path: '/dev/null', ...logConfig } }],
    route_config: { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200 } }] }] },
    http_filters: [{ name: 'router', typed_config: { '@type': ROUTER } }],
  } }] }],
});
const LOG = 'filter_chains[0].filters[0].typed_config.access_log[0].typed_config';
const at = (field: string) => new RegExp(`${`${LOG}.${field}`.replace(/[[\].]/g, '\\$&')}: not supported by Legate: unknown command operator %NO_SUCH%`);

t.test('an operator the formatter lacks is refused when the config is read', async (t) => {
  t.throws(() => translateListener(listenerWithLog({ log_format: { text_format_source: { inline_string: '%NO_SUCH% %REQ(:PATH)%\n' } } })), { message: at('log_format') });
  t.throws(() => translateListener(listenerWithLog({ log_format: { json_format: { path: '%REQ(:PATH)%', bad: '%NO_SUCH%' } } })), { message: at('log_format') });
  t.throws(() => translateListener(listenerWithLog({ format: '%NO_SUCH%\n' })), { message: at('format') }, "FileAccessLog's older format field");
  t.throws(() => translateListener(listenerWithLog({ log_format: { text_format: '100%' } })), { message: /log_format: no valid %COMMAND% at position 3/ });
});

t.test('valid formats, and no format (Envoy\'s default), pass', async (t) => {
  t.doesNotThrow(() => translateListener(listenerWithLog({ log_format: { text_format_source: { inline_string: '%START_TIME% %REQ(:PATH)% %RESPONSE_CODE% %FILTER_STATE(k:PLAIN)%\n' } } })));
  t.doesNotThrow(() => translateListener(listenerWithLog({ log_format: { json_format: { path: '%REQ(:PATH)%', nested: { code: '%RESPONSE_CODE%' } } } })));
  t.doesNotThrow(() => translateListener(listenerWithLog({})));
});
