// fast-proxy over its undici pool: the fastest of the simple Node HTTP proxies.
import type { Target } from './types.ts';
import { lacking } from './types.ts';
import { startProgram } from './node-program.ts';

export const fastProxy: Target = {
  name: 'fast-proxy',
  description: 'fast-proxy 2.x, undici pool',
  unavailable: () => undefined,
  notApplicable: (scenario) => lacking('fast-proxy', [], scenario),
  start: (upstream, scenario, context) => startProgram('fast-proxy', upstream, scenario, context),
};
