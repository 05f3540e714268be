// One overload action's state (Envoy's OverloadActionState): its scale, the largest of its
// triggers' scales. Hot paths hold the object and read `scale` (0 unless configured and pressed);
// `shed()` is Envoy's load-shed decision: always at saturation, a share of the time when scaled.
import type { Gauge, Store } from '../stats/index.ts';
import type { Trigger } from './trigger.ts';

export const ACTIONS = {
  stopAcceptingRequests: 'envoy.overload_actions.stop_accepting_requests',
  disableHttpKeepalive: 'envoy.overload_actions.disable_http_keepalive',
  stopAcceptingConnections: 'envoy.overload_actions.stop_accepting_connections',
  rejectIncomingConnections: 'envoy.overload_actions.reject_incoming_connections',
  reduceTimeouts: 'envoy.overload_actions.reduce_timeouts',
  shrinkHeap: 'envoy.overload_actions.shrink_heap',
} as const;

export class OverloadAction {
  readonly name: string;
  scale = 0;
  private readonly triggers: readonly Trigger[];
  private readonly active: Gauge | undefined;
  private readonly scalePercent: Gauge | undefined;

  constructor(name: string, triggers: readonly Trigger[], store?: Store) {
    this.name = name;
    this.triggers = triggers;
    // Merged across workers by maximum: the most pressed worker shows.
    this.active = store?.gauge(`overload.${name}.active`, 'never');
    this.scalePercent = store?.gauge(`overload.${name}.scale_percent`, 'never');
  }

  get saturated(): boolean {
    return this.scale >= 1;
  }

  shed(random: number = Math.random()): boolean {
    return this.scale >= 1 || (this.scale > 0 && random < this.scale);
  }

  /** Every monitor's latest pressure in (a failed read keeps the previous one); true when the scale changed. */
  update(pressures: ReadonlyMap<string, number>): boolean {
    let scale = 0;
    for (const trigger of this.triggers) {
      const pressure = pressures.get(trigger.monitor);
      if (pressure !== undefined) scale = Math.max(scale, trigger.scale(pressure));
    }
    if (scale === this.scale) return false;
    this.scale = scale;
    this.active?.set(scale >= 1 ? 1 : 0);
    this.scalePercent?.set(Math.round(scale * 100));
    return true;
  }
}

/** An action nobody configured: never pressed. */
export const IDLE_ACTION = new OverloadAction('', []);
