// Bootstrap overload_manager and layered_runtime -> the model, and what is refused by name.
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';

const HEAP = 'envoy.resource_monitors.fixed_heap';
const CX = 'envoy.resource_monitors.global_downstream_max_connections';
const heap = { name: HEAP, typed_config: { '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig', max_heap_size_bytes: 1000 } };
const cx = { name: CX, typed_config: { '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig', max_active_downstream_connections: '50' } };
const SCALE_TIMERS = 'type.googleapis.com/envoy.config.overload.v3.ScaleTimersOverloadActionConfig';
const overload = (extra: object) => translateBootstrap({ overload_manager: { resource_monitors: [heap, cx], ...extra } });

t.test('monitors, triggers, actions and timers in the model', async (t) => {
  const boot = overload({
    refresh_interval: '0.25s',
    actions: [
      { name: 'envoy.overload_actions.stop_accepting_requests', triggers: [{ name: HEAP, threshold: { value: 0.95 } }] },
      {
        name: 'envoy.overload_actions.reduce_timeouts',
        triggers: [{ name: CX, scaled: { scaling_threshold: 0.5, saturation_threshold: 0.9 } }],
        typed_config: { '@type': SCALE_TIMERS, timer_scale_factors: [{ timer: 'HTTP_DOWNSTREAM_CONNECTION_IDLE', min_timeout: '2s' }, { timer: 'HTTP_DOWNSTREAM_STREAM_IDLE', min_scale: { value: 25 } }] },
      },
    ],
  });
  t.same(boot.overloadManager, {
    refreshIntervalMs: 250,
    monitors: [{ name: HEAP, maxHeapSizeBytes: 1000 }, { name: CX, maxActiveDownstreamConnections: 50 }],
    actions: [
      { name: 'envoy.overload_actions.stop_accepting_requests', triggers: [{ monitor: HEAP, kind: 'threshold', value: 0.95 }] },
      {
        name: 'envoy.overload_actions.reduce_timeouts',
        triggers: [{ monitor: CX, kind: 'scaled', scalingThreshold: 0.5, saturationThreshold: 0.9 }],
        scaleTimers: [{ timer: 'HTTP_DOWNSTREAM_CONNECTION_IDLE', minTimeoutMs: 2000 }, { timer: 'HTTP_DOWNSTREAM_STREAM_IDLE', minScalePercent: 25 }],
      },
    ],
  });
  t.same(boot.warnings, []);
  t.equal(translateBootstrap({ overload_manager: { resource_monitors: [heap] } }).overloadManager?.refreshIntervalMs, 1000, "Envoy's default refresh_interval");
});

t.test('refused by name, with the field', async (t) => {
  const refused = (extra: object, pattern: RegExp) => t.throws(() => overload(extra), pattern);
  t.throws(() => translateBootstrap({ overload_manager: { resource_monitors: [{ name: 'envoy.resource_monitors.cpu_utilization', typed_config: { '@type': 'type.googleapis.com/google.protobuf.Empty' } }] } }),
    /resource_monitors\[0\]/);
  t.throws(() => translateBootstrap({ overload_manager: { resource_monitors: [{ ...heap, name: 'envoy.resource_monitors.injected_resource' }] } }),
    /resource_monitors\[0\]\.name: not supported by Legate: resource monitor 'envoy\.resource_monitors\.injected_resource'/);
  refused({ actions: [{ name: 'envoy.overload_actions.reset_high_memory_stream', triggers: [{ name: HEAP, threshold: { value: 0.9 } }] }] },
    /actions\[0\]\.name: not supported by Legate: overload action 'envoy\.overload_actions\.reset_high_memory_stream'/);
  refused({ actions: [{ name: 'envoy.overload_actions.shrink_heap', triggers: [{ name: 'envoy.resource_monitors.other', threshold: { value: 0.9 } }] }] },
    /triggers\[0\]\.name: trigger names resource monitor 'envoy\.resource_monitors\.other', which is not configured/);
  refused({ actions: [{ name: 'envoy.overload_actions.shrink_heap', triggers: [{ name: HEAP, scaled: { scaling_threshold: 0.9, saturation_threshold: 0.5 } }] }] },
    /scaling_threshold must be below saturation_threshold/);
  refused({ actions: [{ name: 'envoy.overload_actions.shrink_heap', triggers: [{ name: HEAP, threshold: { value: 1.5 } }] }] }, /value/);
  refused({ actions: [{ name: 'envoy.overload_actions.reduce_timeouts', triggers: [{ name: HEAP, threshold: { value: 0.9 } }], typed_config: { '@type': SCALE_TIMERS, timer_scale_factors: [{ timer: 'TRANSPORT_SOCKET_CONNECT', min_timeout: '1s' }] } }] },
    /timer_scale_factors\[0\]\.timer: not supported by Legate: scaling timer TRANSPORT_SOCKET_CONNECT/);
  refused({ loadshed_points: [{ name: 'envoy.load_shed_points.tcp_listener_accept', triggers: [{ name: HEAP, threshold: { value: 0.9 } }] }] },
    /field 'loadshed_points' of envoy\.config\.overload\.v3\.OverloadManager is not supported by Legate/);
  t.throws(() => translateBootstrap({ overload_manager: { resource_monitors: [heap, heap] } }), /duplicate resource monitor/);
});

t.test('layered_runtime: static layers flattened, one admin layer; disk and RTDS layers refused', async (t) => {
  const boot = translateBootstrap({
    layered_runtime: {
      layers: [
        { name: 'static', static_layer: { overload: { global_downstream_max_connections: 100 }, 'fault.http.abort.abort_percent': { numerator: 5 }, flag: true, text: 'x' } },
        { name: 'admin', admin_layer: {} },
      ],
    },
  });
  t.same(boot.runtimeLayers, [
    { name: 'static', kind: 'static', values: { 'overload.global_downstream_max_connections': 100, 'fault.http.abort.abort_percent': { numerator: 5, denominator: 'HUNDRED' }, flag: true, text: 'x' } },
    { name: 'admin', kind: 'admin' },
  ]);
  t.same(boot.warnings, []);
  t.same(translateBootstrap({}).runtimeLayers, [], 'no layered_runtime: no layers');
  t.throws(() => translateBootstrap({ layered_runtime: { layers: [{ name: 'd', disk_layer: { symlink_root: '/srv/runtime' } }] } }), /layers\[0\]\.disk_layer/);
  t.throws(() => translateBootstrap({ layered_runtime: { layers: [{ name: 'r', rtds_layer: { name: 'rtds' } }] } }), /layers\[0\]\.rtds_layer/);
  t.throws(() => translateBootstrap({ layered_runtime: { layers: [{ name: 'a', admin_layer: {} }, { name: 'b', admin_layer: {} }] } }), /only one admin layer/);
  t.throws(() => translateBootstrap({ layered_runtime: { layers: [{ name: 's', static_layer: { a: [1, 2] } }] } }), /static_layer\.a: a runtime value cannot be a list/);
});

t.test('ignore_global_conn_limit and bypass_overload_manager on listeners and the admin', async (t) => {
  const boot = translateBootstrap({
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, ignore_global_conn_limit: true },
    static_resources: {
      listeners: [{
        name: 'l',
        address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
        ignore_global_conn_limit: true,
        bypass_overload_manager: true,
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 't', cluster: 'c' } }] }],
      }],
      clusters: [{ name: 'c', type: 'STATIC', load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 1 } } } }] }] } }],
    },
  });
  t.equal(boot.admin.ignoreGlobalConnLimit, true);
  t.equal(boot.listeners[0].ignoreGlobalConnLimit, true);
  t.equal(boot.listeners[0].bypassOverloadManager, true);
  t.same(boot.warnings, []);
});
