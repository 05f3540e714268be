import type { HostSource, PrioritySet } from '../priority-set.ts';
import type { LbContext, LbHost, LoadBalancer } from './host.ts';
import { randomUint32, selectionPicks } from './host.ts';
import { sameHosts } from './host-list.ts';

// An algorithm's state over one host source (a rotation position, a scheduler).
export interface HostPicker {
  pick(): LbHost | null;
}

// Builds the picker for a source's hosts; `previous` is the picker it replaces, if any.
export type PickerFactory = (hosts: readonly LbHost[], previous: HostPicker | undefined) => HostPicker;

// Round robin, least request and random (Envoy's ZoneAwareLoadBalancerBase): each pick asks the
// priority set for a source (priority by load, panic, locality) and that source's picker for a
// host. Pickers are rebuilt on refresh() only for sources whose hosts changed.
export class SourceBalancer implements LoadBalancer {
  readonly #prioritySet: PrioritySet;
  readonly #random: () => number;
  readonly #makePicker: PickerFactory;
  readonly #pickers: HostPicker[] = [];
  readonly #builtOver: (readonly LbHost[])[] = [];

  constructor(prioritySet: PrioritySet, random: () => number, makePicker: PickerFactory) {
    this.#prioritySet = prioritySet;
    this.#random = random;
    this.#makePicker = makePicker;
    for (const source of prioritySet.sources) this.#build(source);
  }

  chooseHost(ctx?: LbContext): LbHost | null {
    const picks = selectionPicks(ctx);
    let host: LbHost | null = null;
    for (let i = 0; i < picks; i++) {
      const source = this.#prioritySet.chooseSource(randomUint32(this.#random));
      host = this.#pickers[source.id].pick();
      if (host === null || ctx?.exclude === undefined || !ctx.exclude(host)) return host;
    }
    return host;
  }

  refresh(): void {
    this.#prioritySet.refresh();
    for (const source of this.#prioritySet.sources) {
      if (!sameHosts(source.hosts, this.#builtOver[source.id])) this.#build(source);
    }
  }

  #build(source: HostSource): void {
    this.#pickers[source.id] = this.#makePicker(source.hosts, this.#pickers[source.id]);
    this.#builtOver[source.id] = source.hosts;
  }
}
