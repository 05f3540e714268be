// /config_dump parses as envoy.admin.v3.ConfigDump the way istioctl's protojson reads it: every
// field known to its message, every value in its JSON form, each Any of a known type. Checked on a
// proxy with static and dynamic resources (ADS), endpoints (include_eds), a static secret and a
// refused listener update (error_state).
import t from 'tap';
import { fetchJson } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { httpListener, routes } from '../../support/bootstrap.ts';
import { ProtoJsonChecker } from '../../support/proto-json-check.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import { adsBootstrap, answerTo, hit, LISTENER_TYPE_URL, rdsListener, setBasicConfig, startManagementServer } from '../../support/xds-proxy.ts';

const checker = new ProtoJsonChecker([
  'envoy/admin/v3/config_dump.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
]);

type Dump = { configs: Record<string, unknown>[] };

t.test('/config_dump is a valid envoy.admin.v3.ConfigDump', async (t) => {
  const server = await startManagementServer(t);
  const a = await startUpstreamFor(t, 'a');
  setBasicConfig(server, [a.port]);
  const secret = { name: 'ca', validation_context: { trusted_ca: { inline_string: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' } } };
  const boot = adsBootstrap(server.port, { listeners: [httpListener('static', routes([{ match: { prefix: '/' }, direct_response: { status: 200 } }]))] });
  const legate = await startLegate({ ...boot, static_resources: { ...boot.static_resources, secrets: [secret] } });
  t.teardown(() => legate.stop());
  t.equal((await hit(legate.url('/', 'http'))).upstream, 'a');

  // A refused listener update (the upstream holds the port): a new listener listed by its error alone.
  server.setResources(LISTENER_TYPE_URL, 'l2', [rdsListener('http', 'local_route'), rdsListener('clash', 'local_route', { port: a.port })]);
  t.ok((await answerTo(server, LISTENER_TYPE_URL)).error_detail, 'the update is NACKed');

  const dump = await fetchJson<Dump>(legate.adminUrl('/config_dump?include_eds'));
  const types = dump.configs.map((c) => String(c['@type']).split('.').at(-1));
  t.same(types, ['BootstrapConfigDump', 'ClustersConfigDump', 'EndpointsConfigDump', 'ListenersConfigDump', 'RoutesConfigDump', 'SecretsConfigDump', 'ConfigSourcesDump']);
  const envoys = dump.configs.filter((c) => String(c['@type']).includes('envoy.admin.v3'));
  t.same(checker.check('envoy.admin.v3.ConfigDump', { configs: envoys }), [], 'no field or value protojson would refuse');
  const listeners = envoys.find((c) => String(c['@type']).endsWith('ListenersConfigDump')) as { dynamic_listeners: { name: string; error_state?: { details: string } }[] };
  t.match(listeners.dynamic_listeners, [
    { name: 'http', active_state: { version_info: 'l1' }, client_status: 'ACKED' },
    { name: 'clash', error_state: { version_info: 'l2', details: /cannot bind/, failed_configuration: { name: 'clash' } }, client_status: 'NACKED' },
  ]);

  t.test('?resource= elements are valid messages of their own type', async (t) => {
    for (const resource of ['dynamic_listeners', 'dynamic_active_clusters', 'static_clusters', 'dynamic_route_configs', 'static_route_configs', 'static_secrets']) {
      const one = await fetchJson<Dump>(legate.adminUrl(`/config_dump?resource=${resource}`));
      t.ok(one.configs.length > 0, `${resource} has elements`);
      for (const element of one.configs) t.same(checker.check('google.protobuf.Any', element, resource), [], resource);
    }
  });
});
