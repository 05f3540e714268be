// Returns freed native memory to the system. Socket reads and body chunks are malloc'd Buffers
// that die between V8 collections; V8 lets ~64 MB of them pile up before it collects for external
// memory, and once freed, glibc keeps the pages: it only ever returns the top of its heap, and a
// live allocation above them pins the rest. A worker under 1 MiB bodies thus held ~60 MB it no
// longer used, and its RSS crept up with every new peak (tcmalloc, Envoy's allocator, releases
// such pages itself). malloc_trim(0), through a tiny N-API addon (malloc_trim.c), releases every
// whole free page; without the addon (not built, or not glibc) nothing is released.
import { createRequire } from 'node:module';

interface Addon {
  releaseFreeMemory(): boolean;
}

/** How often a process releases what it freed: the glibc counterpart of tcmalloc's background release. */
export const RELEASE_INTERVAL_MS = 10_000;

const addon = load();
let releasing = false;

function load(): Addon | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return createRequire(import.meta.url)('./build/Release/malloc_trim.node') as Addon;
  } catch {
    return undefined;
  }
}

/** Whether freed native memory can be given back here (glibc, and the addon built). */
export function canReleaseFreeMemory(): boolean {
  return addon !== undefined;
}

/** Gives whole free malloc pages back to the kernel; true if any were. */
export function releaseFreeMemory(): boolean {
  return addon?.releaseFreeMemory() ?? false;
}

/** Releases every RELEASE_INTERVAL_MS for the life of the process (the timer does not hold it open). */
export function releaseFreeMemoryPeriodically(): void {
  if (addon === undefined || releasing) return;
  releasing = true;
  setInterval(() => addon.releaseFreeMemory(), RELEASE_INTERVAL_MS).unref();
}
