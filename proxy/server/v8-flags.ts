// The V8 flags Legate's processes run with, unless the user set them (on node's command line or
// in NODE_OPTIONS, either spelling).
//
// - A worker's young generation is capped (--max-semi-space-size). Unbounded, V8 grows it under
//   load to its maximum (64 MB semi-spaces: ~147 MB of heap committed for ~15 MB in use) and keeps
//   it; at 16 a loaded worker levels ~50 MB lower at the same CPU per request (README.md, Memory).
// - Allocation-site pretenuring is off in every process. Start-up (Envoy's protos, the config)
//   fills the young generation with objects that survive; V8 then allocates objects of every site
//   it had no clear answer for straight in the old generation, sockets and streams among them.
//   Dead there until the next full collection, they keep what they point to alive through every
//   young collection: under new connections ~30-45% of all allocations survived a scavenge (10-20
//   ms pauses every ~100 ms), where a bare node:http server keeps ~0%; with pretenuring off, ~1%.
// - Functions tier up at about half of V8's call counts (Maglev at 200, TurboFan at 1,500). A new
//   connection runs a few hundred functions once each, so at V8's counts a fresh process served new
//   TLS connections on unoptimised code for seconds: 0.39-0.41 ms of CPU each 1-5 s after start,
//   0.32-0.33 once settled; 0.33-0.36 with these. The compiling itself is not more: it comes
//   sooner (bench/README.md, stop 32).
import v8 from 'node:v8';

export const WORKER_SEMI_SPACE_MB = 16;

interface Default {
  /** The flag as Legate sets it. */
  flag: string;
  /** Whether a user's flag sets the same thing (then Legate's is left out). */
  setBy: RegExp;
}

const option = (name: string): RegExp => new RegExp(`^--(no-)?${name}(=|$)`);
const TIERING: readonly Default[] = [
  { flag: '--invocation-count-for-maglev=200', setBy: option('invocation-count-for-maglev') },
  { flag: '--invocation-count-for-turbofan=1500', setBy: option('invocation-count-for-turbofan') },
];
/** Every process's defaults. */
const EVERY_PROCESS: readonly Default[] = [{ flag: '--no-allocation-site-pretenuring', setBy: option('allocation-site-pretenuring') }, ...TIERING];
/** A forked worker's: the young generation capped too. */
const WORKER: readonly Default[] = [{ flag: `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`, setBy: option('max-semi-space-size') }, ...EVERY_PROCESS];

function userFlags(execArgv: readonly string[], nodeOptions: string): string[] {
  return [...execArgv, ...nodeOptions.split(/\s+/)].map((flag) => flag.replaceAll('_', '-'));
}

function missing(defaults: readonly Default[], execArgv: readonly string[], nodeOptions: string): string[] {
  const given = userFlags(execArgv, nodeOptions);
  return defaults.filter((d) => !given.some((flag) => d.setBy.test(flag))).map((d) => d.flag);
}

/** The workers' Node flags: the primary's, with Legate's defaults for what the user did not set there or in NODE_OPTIONS. */
export function workerExecArgv(execArgv: readonly string[], nodeOptions = ''): string[] {
  return [...missing(WORKER, execArgv, nodeOptions), ...execArgv];
}

/** Sets this process's defaults (the primary serves with --workers 1), before start-up allocates. */
export function applyProcessDefaults(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): void {
  for (const flag of missing(EVERY_PROCESS, execArgv, nodeOptions)) v8.setFlagsFromString(flag);
}
