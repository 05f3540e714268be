// Returns freed native memory to the system. Socket reads and body chunks are malloc'd Buffers
// that die between V8 collections; V8 lets ~64 MB of them pile up before it collects for external
// memory, and once freed, glibc keeps the pages: it only ever returns the top of its heap, and a
// live allocation above them pins the rest. A worker under 1 MiB bodies thus held ~60 MB it no
// longer used, and its RSS crept up with every new peak (tcmalloc, Envoy's allocator, releases
// such pages itself). malloc_trim(0), through a tiny N-API addon (malloc_trim.c), releases every
// whole free page; without the addon (not built, or not glibc) nothing is released.
//
// glibc also raises its mmap threshold to the size of every mmapped chunk freed (one freed 1 MiB
// Buffer lifts it to 1 MiB), and from then on such chunks come from the heap, where
// small long-lived allocations land between them and trims return only whole free pages around
// them. Pinning the threshold at glibc's own starting value keeps chunks of 128 KiB and more in
// mappings of their own, unmapped when freed.
import { createRequire } from 'node:module';

interface Addon {
  releaseFreeMemory(): boolean;
  pinMmapThreshold(bytes: number): boolean;
}

/** How often a process releases what it freed: the glibc counterpart of tcmalloc's background release. */
export const RELEASE_INTERVAL_MS = 10_000;

/** glibc's initial M_MMAP_THRESHOLD: allocations this large or larger get mappings of their own. */
export const MMAP_THRESHOLD_BYTES = 128 * 1024;

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

/**
 * Pins glibc's mmap threshold at MMAP_THRESHOLD_BYTES unless the environment sets one (glibc's
 * MALLOC_MMAP_THRESHOLD_ or its tunable, which then win); true if pinned here.
 */
export function pinMmapThreshold(env: NodeJS.ProcessEnv = process.env): boolean {
  if (addon === undefined) return false;
  if (env.MALLOC_MMAP_THRESHOLD_ !== undefined || env.GLIBC_TUNABLES?.includes('glibc.malloc.mmap_threshold') === true) return false;
  return addon.pinMmapThreshold(MMAP_THRESHOLD_BYTES);
}

/**
 * Pins the mmap threshold, then releases every RELEASE_INTERVAL_MS for the life of the process
 * (the timer does not hold it open).
 */
export function releaseFreeMemoryPeriodically(): void {
  if (addon === undefined || releasing) return;
  releasing = true;
  pinMmapThreshold();
  setInterval(() => addon.releaseFreeMemory(), RELEASE_INTERVAL_MS).unref();
}
