// Envoy's filter state: per-connection and per-stream objects by key (see README.md).
export { FilterState, poolKeyOf, type LifeSpan, type SetOptions, type SharedObject, type StreamSharing } from './filter-state.ts';
export { AddressObject, StringAccessor, createObject, hasObjectFactory, objectFactoryNames, type FilterStateObject } from './objects.ts';
