// envoy.overload_actions.shrink_heap. Envoy asks its allocator to return free pages to the OS
// every 10 s while the action is saturated. Here that is a full V8 garbage collection (V8 then
// releases the pages it no longer needs, and the Buffers it freed go back to malloc), followed by
// malloc_trim (proxy/allocator/). Node exposes gc() only with --expose-gc, so the flag is set at
// run time the first time the action is configured and gc() is taken from a fresh context (V8
// adds it to contexts made after the flag is set).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gcFunction: (() => void) | undefined;

export function garbageCollector(): () => void {
  if (gcFunction !== undefined) return gcFunction;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return (gcFunction = exposed);
  setFlagsFromString('--expose-gc');
  gcFunction = runInNewContext('gc') as () => void;
  return gcFunction;
}

export const SHRINK_INTERVAL_MS = 10_000;
