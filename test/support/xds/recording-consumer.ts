// An xDS client consumer for tests: records every update with the verdict it gave; `decide`
// chooses the verdict (accept by default) and may react, e.g. subscribe to names it saw.
import { EventEmitter } from 'node:events';
import type { ResourceConsumer, ResourceUpdate, UpdateResult } from '../../../xds-client/index.ts';
import { waitForItem } from './wait.ts';

export interface RecordedUpdate {
  typeUrl: string;
  update: ResourceUpdate;
  result: UpdateResult;
}

export class RecordingConsumer {
  readonly updates: RecordedUpdate[] = [];
  decide: (typeUrl: string, update: ResourceUpdate) => UpdateResult = () => ({ ok: true });
  readonly #events = new EventEmitter();

  readonly consume: ResourceConsumer = async (typeUrl, update) => {
    const result = this.decide(typeUrl, update);
    const recorded = { typeUrl, update, result };
    this.updates.push(recorded);
    this.#events.emit('update', recorded);
    return result;
  };

  waitFor(predicate: (recorded: RecordedUpdate) => boolean, options: { after?: number; timeoutMs?: number } = {}): Promise<RecordedUpdate> {
    return waitForItem(this.updates, this.#events, 'update', predicate, { ...options, what: 'matching update' });
  }

  // Updates of a type, in order.
  of(typeUrl: string): ResourceUpdate[] {
    return this.updates.filter((u) => u.typeUrl === typeUrl).map((u) => u.update);
  }
}
