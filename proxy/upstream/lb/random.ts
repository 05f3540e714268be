import type { LbHost } from './host.ts';
import type { HostPicker, PickerFactory } from './source-balancer.ts';

// RANDOM, as Envoy: a uniformly random host of the source; weights are not consulted.
export function randomPickers(random: () => number): PickerFactory {
  return (hosts) => new RandomPick(hosts, random);
}

class RandomPick implements HostPicker {
  readonly #hosts: readonly LbHost[];
  readonly #random: () => number;

  constructor(hosts: readonly LbHost[], random: () => number) {
    this.#hosts = hosts;
    this.#random = random;
  }

  pick(): LbHost | null {
    const n = this.#hosts.length;
    return n === 0 ? null : this.#hosts[Math.floor(this.#random() * n)];
  }
}
