// What pilot-agent writes into every Istio bootstrap beyond the resources: the internal_listener
// bootstrap extension (as a TypedStruct) is accepted with a warning, since Legate has no internal
// listeners; any other extension is refused by name; stats_eviction_interval, newer than the proto
// set Legate validates with, is ignored with a warning instead of being an unknown field.
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';

const internalListener = (typedStruct: boolean) => ({
  name: 'envoy.bootstrap.internal_listener',
  typed_config: typedStruct
    ? { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener', value: { buffer_size_kb: 64 } }
    : { '@type': 'type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener' },
});

t.test('envoy.bootstrap.internal_listener is accepted with a warning', async (t) => {
  for (const typedStruct of [true, false]) {
    const boot = translateBootstrap({ node: { id: 'n', cluster: 'c' }, bootstrap_extensions: [internalListener(typedStruct)] });
    t.match(boot.warnings.join('\n'), /bootstrap_extensions\[0\]: envoy\.bootstrap\.internal_listener accepted, but Legate has no internal listeners/);
  }
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
