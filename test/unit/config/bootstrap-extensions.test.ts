// What pilot-agent writes into every Istio bootstrap beyond the resources: the internal_listener
// bootstrap extension (as a TypedStruct or typed) sets the internal connections' buffer and lets
// listeners be internal; any other extension is refused by name; stats_eviction_interval, newer than the proto
// set Legate validates with, is ignored with a warning instead of being an unknown field.
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';

const internalListener = (typedStruct: boolean) => ({
  name: 'envoy.bootstrap.internal_listener',
  typed_config: typedStruct
    ? { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener', value: { buffer_size_kb: 64 } }
    : { '@type': 'type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener' },
});

t.test('envoy.bootstrap.internal_listener: buffer_size_kb, 1 MiB unless given', async (t) => {
  const typed = translateBootstrap({ node: { id: 'n', cluster: 'c' }, bootstrap_extensions: [internalListener(true)] });
  t.same(typed.internalListener, { bufferSizeBytes: 64 * 1024 }, 'buffer_size_kb from a TypedStruct');
  t.same(typed.warnings, [], 'no warning: the extension is built');
  const plain = translateBootstrap({ node: { id: 'n', cluster: 'c' }, bootstrap_extensions: [internalListener(false)] });
  t.same(plain.internalListener, { bufferSizeBytes: 1024 * 1024 }, "Envoy's default");
  t.equal(translateBootstrap({ node: { id: 'n', cluster: 'c' } }).internalListener, undefined, 'absent without the extension');
  const tooBig = { name: 'envoy.bootstrap.internal_listener', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener', buffer_size_kb: 8193 } };
  t.throws(() => translateBootstrap({ bootstrap_extensions: [tooBig] }), /bootstrap_extensions\[0\]\.typed_config\.buffer_size_kb: 8193 is out of range/);
});

t.test('an internal listener needs the extension, as in Envoy', async (t) => {
  const listener = { name: 'inner', internal_listener: {}, filter_chains: [{ filters: [{ name: 'tcp', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'inner', cluster: 'c' } }] }] };
  const cluster = { name: 'c', type: 'STATIC', load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 1 } } } }] }] } };
  t.throws(() => translateBootstrap({ static_resources: { listeners: [listener], clusters: [cluster] } }), /static_resources\.listeners\[0\]\.internal_listener: listener 'inner' is internal, but the envoy\.bootstrap\.internal_listener bootstrap extension is not configured/);
  const boot = translateBootstrap({ bootstrap_extensions: [internalListener(false)], static_resources: { listeners: [listener], clusters: [cluster] } });
  t.same(boot.listeners[0].address, { address: 'envoy://inner/', port: 0 }, "Envoy's address of an internal listener");
  t.equal(boot.listeners[0].internal, true);
  t.equal(boot.listeners[0].bindToPort, false, 'nothing is bound');
});

t.test('other bootstrap extensions are refused by name', async (t) => {
  t.throws(() => translateBootstrap({ bootstrap_extensions: [{ name: 'envoy.bootstrap.wasm', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.wasm.v3.WasmService' } }] }),
    /bootstrap_extensions\[0\]\.typed_config/);
});

t.test('stats_eviction_interval is ignored, not unknown', async (t) => {
  const boot = translateBootstrap({ node: { id: 'n', cluster: 'c' }, stats_eviction_interval: '60s' });
  t.match(boot.warnings.join('\n'), /stats_eviction_interval: ignored by Legate/);
  t.throws(() => translateBootstrap({ stats_eviction_intervals: '60s' }), /unknown field 'stats_eviction_intervals'/, 'a misspelling is still unknown');
});
