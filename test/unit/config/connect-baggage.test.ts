// Istio's io.istio.http.connect_baggage translated as istiod wrote it (a TypedStruct, no fields):
// accepted without a warning; a field, which Istio's empty proto does not have, is refused by name.
import t from 'tap';
import { translateListener } from '../../../proxy/config/index.ts';
import type { HttpConnectionManager } from '../../../proxy/config/model.ts';
import { HCM_TYPE, ROUTER_TYPE, socketAddress } from '../../support/bootstrap.ts';

const T = 'type.googleapis.com/';
const typedStruct = (value?: object) => ({ '@type': `${T}udpa.type.v1.TypedStruct`, type_url: `${T}io.istio.http.connect_baggage.Config`, ...(value === undefined ? {} : { value }) });

function translate(value?: object) {
  const hcm = {
    '@type': HCM_TYPE,
    stat_prefix: 'connect_terminate',
    route_config: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'main_internal' } }] }] },
    http_filters: [{ name: 'connect_baggage', typed_config: typedStruct(value) }, { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
  };
  const { listener, warnings } = translateListener({ name: 'connect_terminate', address: socketAddress('127.0.0.1', 0), filter_chains: [{ filters: [{ name: 'hcm', typed_config: hcm }] }] });
  return { hcm: listener.filterChains[0].network as HttpConnectionManager, warnings };
}

t.test('connect_baggage: accepted as istiod sends it, a field refused', async (t) => {
  const { hcm, warnings } = translate();
  t.same(hcm.httpFilters.map((f) => f.type), ['io.istio.http.connect_baggage.Config', 'envoy.extensions.filters.http.router.v3.Router']);
  t.same(warnings, []);
  t.throws(() => translate({ propagate: true }), /field 'propagate' of io\.istio\.http\.connect_baggage\.Config is not supported by Legate/);
});
