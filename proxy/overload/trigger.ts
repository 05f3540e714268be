// Envoy's overload triggers: how a monitor's pressure becomes an action's scale (0 = off, 1 =
// saturated). A threshold trigger is all or nothing; a scaled trigger ramps linearly from its
// scaling threshold to its saturation threshold.
import type { OverloadTriggerConfig } from '../config/model.ts';

export interface Trigger {
  readonly monitor: string;
  scale(pressure: number): number;
}

export class ThresholdTrigger implements Trigger {
  readonly monitor: string;
  private readonly value: number;
  constructor(monitor: string, value: number) {
    this.monitor = monitor;
    this.value = value;
  }
  scale(pressure: number): number {
    return pressure >= this.value ? 1 : 0;
  }
}

export class ScaledTrigger implements Trigger {
  readonly monitor: string;
  private readonly scaling: number;
  private readonly saturation: number;
  constructor(monitor: string, scaling: number, saturation: number) {
    this.monitor = monitor;
    this.scaling = scaling;
    this.saturation = saturation;
  }
  scale(pressure: number): number {
    if (pressure >= this.saturation) return 1;
    if (pressure <= this.scaling) return 0;
    return (pressure - this.scaling) / (this.saturation - this.scaling);
  }
}

export function makeTrigger(config: OverloadTriggerConfig): Trigger {
  return config.kind === 'threshold' ? new ThresholdTrigger(config.monitor, config.value) : new ScaledTrigger(config.monitor, config.scalingThreshold, config.saturationThreshold);
}
