// envoy.overload_actions.reduce_timeouts (ScaleTimersOverloadActionConfig): under pressure a
// timer fires between its floor (min_timeout, or min_scale of the configured timeout) and its
// configured timeout, nearer the floor as the action's scale rises, as Envoy's scaled timers.
import type { ScaleTimerConfig } from '../config/model.ts';
import type { OverloadAction } from './action.ts';

export type ScaledTimerType = ScaleTimerConfig['timer'];

export class TimerScaler {
  private readonly action: OverloadAction;
  private readonly timers: ReadonlyMap<ScaledTimerType, ScaleTimerConfig>;

  constructor(action: OverloadAction, timers: readonly ScaleTimerConfig[]) {
    this.action = action;
    this.timers = new Map(timers.map((t) => [t.timer, t]));
  }

  /** The timeout to use now for a timer configured at `ms` (0 = none stays none). */
  scaled(type: ScaledTimerType, ms: number): number {
    const scale = this.action.scale;
    if (scale === 0 || ms <= 0) return ms;
    const timer = this.timers.get(type);
    if (timer === undefined) return ms;
    const floor = Math.min(ms, timer.minTimeoutMs ?? (ms * (timer.minScalePercent ?? 0)) / 100);
    return Math.round(floor + (ms - floor) * (1 - scale));
  }
}

/** No reduce_timeouts action: timers keep their configured values. */
export const UNSCALED = { scaled: (_type: ScaledTimerType, ms: number): number => ms };
