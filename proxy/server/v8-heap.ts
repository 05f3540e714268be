// How a Legate process asks V8 to hold less memory once a mesh's config is loaded.
//
// V8's young generation starts at 1 MB semi-spaces and doubles, up to 64 MB each on a 64-bit
// machine, whenever more bytes survive its scavenges than it holds; it never shrinks back on its
// own. Loading a mesh's config is that case (everything it builds survives): at 5,000 services
// the young generation grew to 128 MB committed and stayed, for nothing, once the apply was over.
// Keeping it at its starting size took ~100 MB of RSS off such a process (proxy/server/README.md,
// Memory); the request path makes short-lived garbage, which a small young generation collects
// as well. `--max-semi-space-size` would say it better but only takes effect on the command line;
// the growth factor is read whenever V8 grows, so it can be set once the process runs.
//
// The price of a small young generation is that more of a large apply's temporary objects are
// promoted to the old generation before they die, and nothing collects them there until the old
// generation grows again, which a process that only serves may not do for hours. So once a large
// update is over, one full collection returns them (V8 has no idle-time hook in Node, and gc is
// reached the way Node's own docs for v8.setFlagsFromString and test runners do).
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Resources (or clusters) an update builds from which it is collected after. */
export const LARGE_UPDATE = 1000;
/** Quiet time after the last large update: a mesh arrives as CDS, EDS, LDS and RDS in turn. */
const SETTLE_MS = 1000;

/** Keeps the young generation at its starting size, unless the operator sized it (node flags). */
export function keepYoungGenerationSmall(): void {
  if (/semi[-_]space/.test(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`)) return;
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

let collect: (() => void) | undefined;
let timer: NodeJS.Timeout | undefined;

/** One full collection once large updates have stopped arriving for a moment. */
export function collectAfterLargeUpdate(): void {
  if (collect === undefined) {
    v8.setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  clearTimeout(timer);
  timer = setTimeout(() => collect!(), SETTLE_MS).unref();
}
