// Listener filters: filter_disabled as Istio writes it, and where it is refused.
import t from 'tap';
import { translateListener } from '../../../proxy/config/index.ts';

const inspector = (name: string, type: string, extra: object = {}) => ({ name, typed_config: { '@type': `type.googleapis.com/envoy.extensions.filters.listener.${type}` }, ...extra });
const listener = (filters: object[]) => ({
  name: 'virtualInbound',
  address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
  listener_filters: filters,
  filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 't', cluster: 'c' } }] }],
});

t.test('filter_disabled becomes a port predicate', async (t) => {
  const { listener: l } = translateListener(listener([
    inspector('envoy.filters.listener.tls_inspector', 'tls_inspector.v3.TlsInspector'),
    inspector('envoy.filters.listener.http_inspector', 'http_inspector.v3.HttpInspector', {
      filter_disabled: { or_match: { rules: [{ destination_port_range: { start: 15006, end: 15007 } }, { not_match: { any_match: true } }] } },
    }),
  ]));
  t.same(l.listenerFilters[1].disabled, { kind: 'or', rules: [{ kind: 'ports', start: 15006, end: 15007 }, { kind: 'not', rule: { kind: 'any' } }] });
  t.equal(l.listenerFilters[0].disabled, undefined);
});

t.test('filter_disabled is refused on original_dst', async (t) => {
  t.throws(() => translateListener(listener([inspector('envoy.filters.listener.original_dst', 'original_dst.v3.OriginalDst', { filter_disabled: { any_match: true } })])),
    /listener_filters\[0\]\.filter_disabled: not supported by Legate: filter_disabled on original_dst/);
});
