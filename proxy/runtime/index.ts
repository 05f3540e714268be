export { runtime, RuntimeLoader, type RuntimeJson } from './loader.ts';
export { RuntimeSnapshot } from './snapshot.ts';
export { parseEntry, type RuntimeEntry } from './entry.ts';
export * as runtimeKeys from './keys.ts';
