// envoy.config.overload.v3.OverloadManager (Bootstrap overload_manager) -> the model. Monitors and
// actions Legate has not built are rejected by name; triggers must name a configured monitor.
import { indexPath, joinPath } from '../errors.ts';
import { DOWNSTREAM_CONNECTIONS_TYPE, FIXED_HEAP_TYPE, SCALE_TIMERS_TYPE } from '../extensions.ts';
import type { OverloadActionConfig, OverloadManagerConfig, OverloadTriggerConfig, ResourceMonitorConfig, ScaleTimerConfig } from '../model.ts';
import { list, ms, num, obj, reject, str, type Raw } from './common.ts';

const FIXED_HEAP = 'envoy.resource_monitors.fixed_heap';
const GLOBAL_CONNECTIONS = 'envoy.resource_monitors.global_downstream_max_connections';
const MONITOR_TYPES: Record<string, string> = { [FIXED_HEAP]: FIXED_HEAP_TYPE, [GLOBAL_CONNECTIONS]: DOWNSTREAM_CONNECTIONS_TYPE };

const REDUCE_TIMEOUTS = 'envoy.overload_actions.reduce_timeouts';
const ACTIONS = new Set([
  'envoy.overload_actions.stop_accepting_requests',
  'envoy.overload_actions.disable_http_keepalive',
  'envoy.overload_actions.stop_accepting_connections',
  'envoy.overload_actions.reject_incoming_connections',
  REDUCE_TIMEOUTS,
  'envoy.overload_actions.shrink_heap',
]);
// The TLS handshake timer (TRANSPORT_SOCKET_CONNECT) is not scaled yet: rejected by name.
const SCALED_TIMERS = new Set(['HTTP_DOWNSTREAM_CONNECTION_IDLE', 'HTTP_DOWNSTREAM_STREAM_IDLE']);

export function translateOverloadManager(raw: Raw | undefined, path: string): OverloadManagerConfig | undefined {
  if (raw === undefined) return undefined;
  const monitorsPath = joinPath(path, 'resource_monitors');
  const monitors = list(raw, 'resource_monitors').map((m, i) => resourceMonitor(m, indexPath(monitorsPath, i)));
  if (monitors.length === 0) reject(monitorsPath, 'the overload manager needs at least one resource monitor', `add ${FIXED_HEAP} or ${GLOBAL_CONNECTIONS}`);
  const names = new Set<string>();
  monitors.forEach((m, i) => {
    if (names.has(m.name)) reject(indexPath(monitorsPath, i), `duplicate resource monitor '${m.name}'`, 'configure each monitor once');
    names.add(m.name);
  });
  const actionsPath = joinPath(path, 'actions');
  const seen = new Set<string>();
  const actions = list(raw, 'actions').map((a, i) => {
    const action = overloadAction(a, indexPath(actionsPath, i), names);
    if (seen.has(action.name)) reject(joinPath(indexPath(actionsPath, i), 'name'), `duplicate overload action '${action.name}'`, 'configure each action once, with several triggers if needed');
    seen.add(action.name);
    return action;
  });
  return { refreshIntervalMs: ms(raw, 'refresh_interval', 1000), monitors, actions };
}

function resourceMonitor(raw: Raw, path: string): ResourceMonitorConfig {
  const name = str(raw, 'name');
  const expected = MONITOR_TYPES[name];
  if (expected === undefined) reject(joinPath(path, 'name'), `not supported by Legate: resource monitor '${name}'`, `use ${FIXED_HEAP} or ${GLOBAL_CONNECTIONS}`);
  const config = obj(raw, 'typed_config');
  if (config === undefined || config['@type'] !== expected) reject(joinPath(path, 'typed_config'), `resource monitor '${name}' needs a typed_config of type ${expected}`, 'add it with its limit');
  if (name === FIXED_HEAP) {
    const max = num(config, 'max_heap_size_bytes', 0);
    if (max <= 0) reject(joinPath(path, 'typed_config.max_heap_size_bytes'), 'required field is missing', 'set the heap size (bytes) at which pressure is 1');
    return { name, maxHeapSizeBytes: max };
  }
  const max = num(config, 'max_active_downstream_connections', 0);
  if (max <= 0) reject(joinPath(path, 'typed_config.max_active_downstream_connections'), 'required field is missing', 'set the most downstream connections the proxy may hold');
  return { name: GLOBAL_CONNECTIONS, maxActiveDownstreamConnections: max };
}

function overloadAction(raw: Raw, path: string, monitors: ReadonlySet<string>): OverloadActionConfig {
  const name = str(raw, 'name');
  if (!ACTIONS.has(name)) reject(joinPath(path, 'name'), `not supported by Legate: overload action '${name}'`, `use one of ${[...ACTIONS].join(', ')}`);
  const triggersPath = joinPath(path, 'triggers');
  const triggers = list(raw, 'triggers').map((t, i) => trigger(t, indexPath(triggersPath, i), monitors));
  const action: OverloadActionConfig = { name, triggers };
  const config = obj(raw, 'typed_config');
  if (name === REDUCE_TIMEOUTS) {
    if (config === undefined || config['@type'] !== SCALE_TIMERS_TYPE) reject(joinPath(path, 'typed_config'), `${REDUCE_TIMEOUTS} needs a typed_config of type ${SCALE_TIMERS_TYPE}`, 'say which timers it scales');
    const timersPath = joinPath(path, 'typed_config.timer_scale_factors');
    action.scaleTimers = list(config, 'timer_scale_factors').map((t, i) => scaleTimer(t, indexPath(timersPath, i)));
  } else if (config !== undefined) {
    reject(joinPath(path, 'typed_config'), `${name} takes no typed_config`, 'remove it');
  }
  return action;
}

function trigger(raw: Raw, path: string, monitors: ReadonlySet<string>): OverloadTriggerConfig {
  const monitor = str(raw, 'name');
  if (!monitors.has(monitor)) reject(joinPath(path, 'name'), `trigger names resource monitor '${monitor}', which is not configured`, `configure it under resource_monitors, or use one of ${[...monitors].join(', ')}`);
  const threshold = obj(raw, 'threshold');
  if (threshold !== undefined) return { monitor, kind: 'threshold', value: num(threshold, 'value', 0) };
  const scaled = obj(raw, 'scaled') ?? {};
  const scalingThreshold = num(scaled, 'scaling_threshold', 0);
  const saturationThreshold = num(scaled, 'saturation_threshold', 0);
  if (scalingThreshold >= saturationThreshold) reject(joinPath(path, 'scaled'), 'scaling_threshold must be below saturation_threshold', 'e.g. scaling_threshold 0.8, saturation_threshold 0.95');
  return { monitor, kind: 'scaled', scalingThreshold, saturationThreshold };
}

function scaleTimer(raw: Raw, path: string): ScaleTimerConfig {
  const timer = str(raw, 'timer');
  if (!SCALED_TIMERS.has(timer)) reject(joinPath(path, 'timer'), `not supported by Legate: scaling timer ${timer}`, `use one of ${[...SCALED_TIMERS].join(', ')}`);
  const out: ScaleTimerConfig = { timer: timer as ScaleTimerConfig['timer'] };
  if (raw.min_timeout !== undefined) out.minTimeoutMs = ms(raw, 'min_timeout', 0);
  else out.minScalePercent = num(obj(raw, 'min_scale') ?? {}, 'value', 0);
  return out;
}
