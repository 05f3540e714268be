// http-proxy with a keep-alive agent: what many Node users run as a reverse proxy.
import type { Target } from './types.ts';
import { lacking } from './types.ts';
import { startProgram } from './node-program.ts';

export const httpProxy: Target = {
  name: 'http-proxy',
  description: 'http-proxy 1.x, keep-alive agent',
  unavailable: () => undefined,
  notApplicable: (scenario) => lacking('http-proxy', [], scenario),
  start: (upstream, scenario, context) => startProgram('http-proxy', upstream, scenario, context),
};
