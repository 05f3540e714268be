// Envoy's StreamInfo::FilterState: named objects that filters set on a connection or a stream
// and other filters, matchers, RBAC and the access log read. A stream's filter state has the
// connection's as its parent (Envoy's life spans: what a stream sets for FilterChain or Request
// lives with the stream, Connection with the connection). An object may be read-only (nothing may
// replace it) and may be shared with the upstream connection (ONCE: that connection only;
// TRANSITIVE: and every internal connection after it), which is how Envoy carries facts through
// internal listeners. Created lazily: a connection or stream that sets nothing costs nothing.
import type { FilterStateObject } from './objects.ts';

/** Envoy's FilterState::LifeSpan. A stream's state holds FilterChain and Request; Connection goes to the parent. */
export type LifeSpan = 'FilterChain' | 'Request' | 'Connection';

/** Envoy's StreamSharingMayImpactPooling (set_filter_state's SharedWithUpstream). */
export type StreamSharing = 'NONE' | 'ONCE' | 'TRANSITIVE';

export interface SetOptions {
  readOnly?: boolean;
  lifeSpan?: LifeSpan; // 'FilterChain' unless given
  sharing?: StreamSharing; // 'NONE' unless given
}

/** An object as it crosses to the upstream connection: ONCE objects arrive with sharing NONE. */
export interface SharedObject {
  readonly key: string;
  readonly object: FilterStateObject;
  readonly readOnly: boolean;
  readonly sharing: StreamSharing;
}

interface Entry {
  object: FilterStateObject;
  readOnly: boolean;
  sharing: StreamSharing;
}

export class FilterState {
  /** The connection's filter state, for a stream's; undefined for a connection's. */
  readonly parent: FilterState | undefined;
  private readonly entries = new Map<string, Entry>();

  constructor(parent?: FilterState) {
    this.parent = parent;
  }

  /** A connection's filter state holding what the upstream side shared (an internal connection's start). */
  static fromShared(objects: readonly SharedObject[]): FilterState {
    const state = new FilterState();
    for (const o of objects) state.entries.set(o.key, { object: o.object, readOnly: o.readOnly, sharing: o.sharing });
    return state;
  }

  /**
   * Sets `key`, as Envoy's setData: a read-only object is never replaced, nor a key the other level
   * holds (Envoy's "conflicting life span"); then the answer is false and nothing changes.
   */
  set(key: string, object: FilterStateObject, options: SetOptions = {}): boolean {
    const connectionLevel = options.lifeSpan === 'Connection';
    if (connectionLevel && this.parent !== undefined) {
      if (this.entries.has(key)) return false;
      return this.parent.set(key, object, options);
    }
    if (!connectionLevel && this.parent?.has(key) === true) return false;
    const current = this.entries.get(key);
    if (current !== undefined && current.readOnly) return false;
    this.entries.set(key, { object, readOnly: options.readOnly === true, sharing: options.sharing ?? 'NONE' });
    return true;
  }

  /** The object under `key`, the stream's before the connection's. */
  get(key: string): FilterStateObject | undefined {
    return this.entries.get(key)?.object ?? this.parent?.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key) || this.parent?.has(key) === true;
  }

  /**
   * What an upstream connection made for this stream or connection receives (Envoy's
   * objectsSharedWithUpstreamConnection): ONCE objects lose their sharing, TRANSITIVE ones keep
   * it; a stream's objects come before its connection's. Undefined when nothing is shared.
   */
  sharedWithUpstream(): SharedObject[] | undefined {
    let shared = this.parent?.sharedWithUpstream();
    for (const [key, e] of this.entries) {
      if (e.sharing === 'NONE') continue;
      shared ??= [];
      // A stream's object hides a connection's of the same key.
      const i = shared.findIndex((s) => s.key === key);
      const item: SharedObject = { key, object: e.object, readOnly: e.readOnly, sharing: e.sharing === 'ONCE' ? 'NONE' : 'TRANSITIVE' };
      if (i >= 0) shared[i] = item;
      else shared.push(item);
    }
    return shared;
  }
}

/**
 * The part of the shared objects that keys connection pools (Envoy hashes the objects that are
 * Hashable into the transport socket options' key): connections carrying different values are
 * never reused for one another. '' when none is hashable.
 */
export function poolKeyOf(shared: readonly SharedObject[] | undefined): string {
  if (shared === undefined) return '';
  let key = '';
  for (const s of shared) {
    const hash = s.object.hashKey;
    if (hash !== undefined) key += `${s.key}=${hash}\n`;
  }
  return key;
}
