// No proxy: the load generator talks to the upstream itself. The ceiling for every target.
import type { Target } from './types.ts';
import { targetUrl, upstreamPortFor } from './types.ts';

export const direct: Target = {
  name: 'direct',
  description: 'no proxy, straight to the upstream',
  baseline: true,
  unavailable: () => undefined,
  notApplicable: (scenario) => scenario.baselineNa,
  async start(upstream, scenario) {
    return { url: targetUrl(scenario, upstreamPortFor(upstream, scenario)), pids: [], stop: async () => {} };
  },
};
