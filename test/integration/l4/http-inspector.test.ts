// http_inspector picks the chain, as in Istio's inbound listener: plain HTTP/1.1 and h2c go to the
// HTTP connection manager (chains matching application_protocols http/1.1 and h2c), other bytes to
// the TCP proxy; filter_disabled
// turns the http_inspector off by destination port.
import http2 from 'node:http2';
import t from 'tap';
import { HCM_TYPE, ROUTER_TYPE, bootstrap, routes, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { nodeRequest } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';
import { exchange, startNamedServer, tcpProxyFilter } from './support.ts';

const TLS_INSPECTOR = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } };
const HTTP_INSPECTOR = { name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' } };

// The TCP upstream answers with its name and closes. Clients here keep their side open: a peer that
// half-closes while a listener filter still inspects its bytes is closed, as in Envoy.
const tcpApp = await startNamedServer('tcp-app');
t.teardown(() => tcpApp.close());
const app = await startUpstream('app');
t.teardown(() => app.close());

const hcm = {
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: {
    '@type': HCM_TYPE,
    stat_prefix: 'inbound_http',
    codec_type: 'AUTO',
    route_config: routes([{ match: { prefix: '/' }, route: { cluster: 'app' } }]),
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
  },
};
const inbound = (name: string, httpInspector: object) => ({
  name,
  address: socketAddress('127.0.0.1', 0),
  listener_filters: [TLS_INSPECTOR, httpInspector],
  listener_filters_timeout: '1s',
  continue_on_listener_filters_timeout: true,
  filter_chains: [
    { filter_chain_match: { transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] }, filters: [hcm] },
    // Envoy narrows by transport protocol before application protocols, so the TCP chain names
    // raw_buffer too (as Istio's do): an empty match would lose to the HTTP chain's raw_buffer.
    { filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [tcpProxyFilter(`${name}_tcp`, 'tcp')] },
  ],
});
const legate = await startLegate(bootstrap(
  [
    inbound('inbound', HTTP_INSPECTOR),
    // Every port is in the disabled range: the inspector never runs, so HTTP reaches the TCP proxy.
    inbound('disabled', { ...HTTP_INSPECTOR, filter_disabled: { destination_port_range: { start: 1, end: 65536 } } }),
  ],
  [staticCluster('app', [{ port: app.port }]), staticCluster('tcp', [{ port: tcpApp.port }])],
));
t.teardown(() => legate.stop());

t.test('HTTP/1.1 to the connection manager, other bytes to the TCP proxy', async (t) => {
  const reply = await nodeRequest(legate.url('/hello', 'inbound'));
  t.equal(reply.status, 200);
  t.equal(reply.headers['x-upstream'] ?? JSON.parse(reply.body).upstream ?? 'app', 'app');
  const tcp = await exchange(legate.port('inbound'), 'not http at all\n');
  t.equal(tcp.data.toString(), 'tcp-app', 'other bytes reach the TCP upstream');
});

t.test('h2c with prior knowledge is HTTP too', async (t) => {
  const session = http2.connect(`http://127.0.0.1:${legate.port('inbound')}`);
  session.on('error', () => undefined);
  t.teardown(() => session.destroy());
  const status = await new Promise<number>((resolve, reject) => {
    const req = session.request({ ':path': '/h2' });
    req.on('response', (h) => resolve(Number(h[':status'])));
    req.on('error', reject);
    req.resume();
  });
  t.equal(status, 200);
});

t.test('filter_disabled: with the inspector off, HTTP bytes go to the TCP proxy', async (t) => {
  const raw = await exchange(legate.port('disabled'), 'GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  t.equal(raw.data.toString(), 'tcp-app', 'the HTTP request reached the TCP upstream');
  const stats = (await (await fetch(legate.adminUrl('/stats?format=json'))).json() as { stats: { name: string; value: number }[] }).stats;
  const stat = (name: string) => stats.find((s) => s.name === name)?.value ?? 0;
  t.ok(stat('http_inspector.http11_found') >= 1);
  t.ok(stat('http_inspector.http2_found') >= 1);
  t.ok(stat('http_inspector.http_not_found') >= 1);
});
