import { EdfQueue } from './edf-queue.ts';
import type { LbHost } from './host.ts';
import { equalWeights } from './host-list.ts';
import type { HostPicker, PickerFactory } from './source-balancer.ts';

export interface LeastRequestOptions {
  choiceCount: number; // least_request_lb_config.choice_count, 2
  activeRequestBias: number; // least_request_lb_config.active_request_bias, 1.0
}

// LEAST_REQUEST, as Envoy: with equal weights, the host with the fewest active requests among
// choice_count random picks (power of two choices); with unequal weights, an EDF schedule where
// a host's weight is re-read at each of its turns as weight / (active_requests + 1)^bias.
export function leastRequestPickers(random: () => number, opts: LeastRequestOptions): PickerFactory {
  return (hosts) =>
    equalWeights(hosts)
      ? new ChoiceOfN(hosts, opts.choiceCount, random)
      : new WeightedLeastRequest(hosts, opts.activeRequestBias);
}

class ChoiceOfN implements HostPicker {
  readonly #hosts: readonly LbHost[];
  readonly #choices: number;
  readonly #random: () => number;

  constructor(hosts: readonly LbHost[], choices: number, random: () => number) {
    this.#hosts = hosts;
    this.#choices = choices;
    this.#random = random;
  }

  pick(): LbHost | null {
    const n = this.#hosts.length;
    if (n === 0) return null;
    let best = this.#hosts[Math.floor(this.#random() * n)];
    for (let c = 1; c < this.#choices; c++) {
      const candidate = this.#hosts[Math.floor(this.#random() * n)];
      if (candidate.activeRequests < best.activeRequests) best = candidate;
    }
    return best;
  }
}

// Deadlines accumulate (the next turn is now + 1 / current weight); they are shifted back to
// zero now and then so the small steps added to them stay exact.
const REBASE_AFTER = 2 ** 20;

class WeightedLeastRequest implements HostPicker {
  readonly #hosts: readonly LbHost[];
  readonly #bias: number;
  readonly #queue: EdfQueue;

  constructor(hosts: readonly LbHost[], bias: number) {
    this.#hosts = hosts;
    this.#bias = bias;
    this.#queue = new EdfQueue(hosts.length);
    for (let i = 0; i < hosts.length; i++) this.#queue.push(i, 1 / this.#weight(hosts[i]));
  }

  pick(): LbHost {
    const i = this.#queue.top();
    let now = this.#queue.deadlineOf(i);
    if (now > REBASE_AFTER) {
      this.#queue.shift(now);
      now = 0;
    }
    const host = this.#hosts[i];
    this.#queue.rescheduleTop(now + 1 / this.#weight(host));
    return host;
  }

  #weight(host: LbHost): number {
    const load = host.activeRequests + 1;
    if (this.#bias === 1) return host.weight / load;
    return this.#bias === 0 ? host.weight : host.weight / load ** this.#bias;
  }
}
