// The naive Node proxy (node:http + undici, programs/naive-node.ts): what Legate must beat to be
// worth it to a Node user. One process, pinned like the Legate target.
import type { Target } from './types.ts';
import { lacking } from './types.ts';
import { startProgram } from './node-program.ts';

export const naiveNode: Target = {
  name: 'naive-node',
  description: 'node:http server forwarding with undici request(), response piped back (programs/naive-node.ts)',
  unavailable: () => undefined,
  notApplicable: (scenario) => lacking('naive-node', [], scenario),
  start: (upstream, scenario, context) => startProgram('naive-node', upstream, scenario, context),
};
