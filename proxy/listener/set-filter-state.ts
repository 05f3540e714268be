// Envoy's set_filter_state (source/extensions/filters/common/set_filter_state): each value is
// formatted with the access log's formatter against the stream or connection, made into an
// object by its factory, and set with its read-only flag and sharing. An empty value is skipped
// with skip_if_empty; a value the factory cannot parse sets nothing; a key that is read-only (or
// held at the other level) keeps its object. Shared by the HTTP filter (on_request_headers, on
// the stream) and the network filter here (on_new_connection, on the connection).
import { compileFormat, StreamInfo } from '../access-log/index.ts';
import type { FilterChain, FilterStateValue } from '../config/model.ts';
import { createObject, FilterState, type LifeSpan } from '../filter-state/index.ts';
import type { ChainHandler } from './chain-handler.ts';
import { recordConnection } from './connection-info.ts';

interface CompiledValue {
  readonly value: FilterStateValue;
  readonly format: (info: StreamInfo) => string;
}

export class FilterStateSetter {
  private readonly values: readonly CompiledValue[];
  private readonly lifeSpan: LifeSpan;

  constructor(values: readonly FilterStateValue[], lifeSpan: LifeSpan) {
    this.values = values.map((value) => ({ value, format: compileFormat({ kind: 'text', template: value.format }) }));
    this.lifeSpan = lifeSpan;
  }

  /** Sets each value in order on `state`; `info` is what the format strings read (its filterState is `state`). */
  apply(info: StreamInfo, state: FilterState): void {
    for (const { value, format } of this.values) {
      const text = format(info);
      if (text === '' && value.skipIfEmpty) continue;
      const object = createObject(value.factoryKey, text);
      if (object === undefined) continue;
      state.set(value.objectKey, object, { readOnly: value.readOnly, sharing: value.sharedWithUpstream, lifeSpan: this.lifeSpan });
    }
  }
}

/** envoy.filters.network.set_filter_state: its on_new_connection values, before the chain's other filters read the connection. */
export function withSetFilterState(handler: ChainHandler, chain: FilterChain): ChainHandler {
  const values = chain.setFilterState;
  if (values === undefined) return handler;
  const setter = new FilterStateSetter(values, 'Connection');
  return {
    onConnection: (socket, facts) => {
      const state = (facts.filterState ??= new FilterState());
      const info = new StreamInfo();
      recordConnection(info, socket, facts);
      setter.apply(info, state);
      handler.onConnection(socket, facts);
    },
    drain: () => handler.drain(),
  };
}
