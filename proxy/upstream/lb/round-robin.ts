import type { LbHost } from './host.ts';
import { randomUint32 } from './host.ts';
import { equalWeights } from './host-list.ts';
import type { HostPicker, PickerFactory } from './source-balancer.ts';
import { WeightedSchedule } from './weighted-schedule.ts';

// ROUND_ROBIN, as Envoy: equal weights rotate through the hosts from a random start; unequal
// weights follow a smooth weighted schedule (EDF), so a 1:3 pair interleaves instead of bursting.
export function roundRobinPickers(random: () => number): PickerFactory {
  return (hosts, previous) => {
    if (!equalWeights(hosts)) {
      const weights = hosts.map((h) => h.weight);
      // A random number of turns taken up front desynchronises balancers built together.
      return new WeightedRotation(hosts, new WeightedSchedule(weights, randomUint32(random) % hosts.length));
    }
    // The position survives host list changes, as Envoy's per-source index does.
    return new Rotation(hosts, previous instanceof Rotation ? previous.next : randomUint32(random));
  };
}

class Rotation implements HostPicker {
  readonly #hosts: readonly LbHost[];
  next: number;

  constructor(hosts: readonly LbHost[], start: number) {
    this.#hosts = hosts;
    this.next = start;
  }

  pick(): LbHost | null {
    const n = this.#hosts.length;
    if (n === 0) return null;
    const i = this.next % n;
    this.next = i + 1;
    return this.#hosts[i];
  }
}

class WeightedRotation implements HostPicker {
  readonly #hosts: readonly LbHost[];
  readonly #schedule: WeightedSchedule;

  constructor(hosts: readonly LbHost[], schedule: WeightedSchedule) {
    this.#hosts = hosts;
    this.#schedule = schedule;
  }

  pick(): LbHost {
    return this.#hosts[this.#schedule.pick()];
  }
}
