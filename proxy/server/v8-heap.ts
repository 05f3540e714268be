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
let lastCollected = -Infinity;

/** One compacting collection once large updates have stopped arriving for a moment. */
export function collectAfterLargeUpdate(): void {
  if (collect === undefined) {
    v8.setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as (options: object) => void;
  }
  clearTimeout(timer);
  const delay = Math.max(SETTLE_MS, lastCollected + MIN_INTERVAL_MS - performance.now());
  timer = setTimeout(() => {
    lastCollected = performance.now();
    collect!({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  }, delay).unref();
}
