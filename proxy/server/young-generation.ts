// V8's young generation starts at 1 MB semi-spaces and doubles, up to 64 MB each on a 64-bit
// machine, whenever more bytes survive its scavenges than it holds; it never shrinks back on its
// own. Loading a mesh's config is that case (everything it builds survives): at 5,000 services
// the young generation grew to 128 MB committed and stayed, for nothing, once the apply was over.
// Keeping it at its starting size took ~100 MB of RSS off such a process (proxy/server/README.md,
// Memory); the request path makes short-lived garbage, which a small young generation collects
// as well. `--max-semi-space-size` would say it better but only takes effect on the command line;
// the growth factor is read whenever V8 grows, so it can be set once the process runs.
import v8 from 'node:v8';

/** Keeps the young generation at its starting size, unless the operator sized it (node flags). */
export function keepYoungGenerationSmall(): void {
  const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  if (/semi[-_]space/.test(flags)) return;
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
