// How a Legate process gives back the memory a large config update leaves behind.
//
// Decoding and translating a mesh's config (thousands of resources in one response) makes V8 grow
// its young generation, up to 64 MB semi-spaces on a 64-bit machine, because most of what it
// builds survives; V8 keeps that size, and the temporary objects that were promoted before they
// died stay in the old generation until it grows again, which a process that only serves may not
// do for hours. Nothing in Node tells V8 the process is idle, so once large updates stop, one
// compacting collection (V8's last-resort flavour: full collections until nothing more is freed,
// the young generation shrunk, free pages released) returns both, at most once every 10 minutes.
// At 5,000 services it blocks the event loop for ~170-220 ms and takes the heap from ~280 MB
// committed to ~127 (RSS 380 -> ~225 MB). gc is reached as test runners do (--expose-gc set at
// run time).
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { releaseFreeMemory } from '../allocator/index.ts';

/** Resources in an update (or clusters a worker builds) from which it is collected after. */
export const LARGE_UPDATE = 1000;
/** Quiet time after the last large update: a mesh arrives as CDS, EDS, LDS and RDS in turn. */
const SETTLE_MS = 1000;
/**
 * At most one collection this often: a control plane that sends every cluster on each change
 * (state-of-the-world CDS; Istio's clusters with SDS secrets reach workers whole) would otherwise
 * stall a serving process for ~200 ms after every push.
 */
const MIN_INTERVAL_MS = 10 * 60_000;

let collect: ((options: object) => void) | undefined;
let timer: NodeJS.Timeout | undefined;
let pendingLarge = false; // the pending collection is one after a large update (it counts for the interval)
let lastCollected = -Infinity;
let startCollected = false;

/** One compacting collection once large updates have stopped arriving for a moment. */
export function collectAfterLargeUpdate(): void {
  schedule(Math.max(SETTLE_MS, lastCollected + MIN_INTERVAL_MS - performance.now()), true);
}

/**
 * Once per process, when it is idle after its first config is applied: loading Legate's modules
 * (and, in the primary, parsing Envoy's protos) grows the young generation to 8 MB and more, and V8
 * keeps its pages, pooled, until a collection like this one. It gives back ~6-7 MB of an idle
 * worker's RSS and blocks for ~70 ms, once (it does not count for the interval above). Idle: the
 * event loop was busy less than 2% of the last second; a process that serves from the start is
 * asked again each second (what load grows stays grown anyway, up to the young generation's cap).
 */
export function collectAfterStart(): void {
  if (startCollected || pendingLarge) return; // a pending large-update collection does the same
  clearTimeout(timer);
  let since = performance.eventLoopUtilization();
  timer = setTimeout(function check() {
    const busy = performance.eventLoopUtilization(since).utilization;
    if (busy > IDLE_UTILIZATION) {
      since = performance.eventLoopUtilization();
      timer = setTimeout(check, SETTLE_MS).unref();
      return;
    }
    run(false);
  }, SETTLE_MS).unref();
}

/** Event-loop utilization under which a process counts as idle. */
const IDLE_UTILIZATION = 0.02;

function schedule(delay: number, large: boolean): void {
  clearTimeout(timer);
  pendingLarge = large;
  timer = setTimeout(() => run(large), delay).unref();
}

function run(large: boolean): void {
  if (collect === undefined) {
    v8.setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as (options: object) => void;
  }
  if (large) lastCollected = performance.now();
  pendingLarge = false;
  startCollected = true;
  collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  releaseFreeMemory(); // the Buffers that collection freed, and what building the config malloc'd
}
