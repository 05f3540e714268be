// A plain byte pipe in Node: the ceiling for any Node proxy, for HTTP and TCP alike.
import type { Target } from './types.ts';
import { startProgram } from './node-program.ts';

export const l4Pipe: Target = {
  name: 'l4-pipe',
  description: 'Node net.Socket pipe, no parsing (the Node ceiling)',
  baseline: true,
  unavailable: () => undefined,
  notApplicable: (scenario) => scenario.baselineNa,
  start: (upstream, scenario, context) => startProgram('l4-pipe', upstream, scenario, context),
};
