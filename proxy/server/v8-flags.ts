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
import v8 from 'node:v8';

export const WORKER_SEMI_SPACE_MB = 16;
const NO_PRETENURING = '--no-allocation-site-pretenuring';

function userFlags(execArgv: readonly string[], nodeOptions: string): string[] {
  return [...execArgv, ...nodeOptions.split(/\s+/)].map((flag) => flag.replaceAll('_', '-'));
}

const setsPretenuring = (flags: readonly string[]): boolean => flags.some((flag) => /^--(no-)?allocation-site-pretenuring(=|$)/.test(flag));

/** The workers' Node flags: the primary's, with Legate's defaults for what the user did not set there or in NODE_OPTIONS. */
export function workerExecArgv(execArgv: readonly string[], nodeOptions = ''): string[] {
  const given = userFlags(execArgv, nodeOptions);
  const defaults: string[] = [];
  if (!given.some((flag) => flag.startsWith('--max-semi-space-size'))) defaults.push(`--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`);
  if (!setsPretenuring(given)) defaults.push(NO_PRETENURING);
  return [...defaults, ...execArgv];
}

/** Turns pretenuring off in this process (the primary, which serves with --workers 1), before start-up allocates. */
export function disablePretenuring(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): void {
  if (!setsPretenuring(userFlags(execArgv, nodeOptions))) v8.setFlagsFromString(NO_PRETENURING);
}
