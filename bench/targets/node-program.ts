// Targets that are small Node programs in bench/targets/programs/, given the upstream port.
import path from 'node:path';
import { startNodeProgram } from '../child.ts';
import type { Scenario } from '../scenarios.ts';
import type { RunningTarget, TargetContext, Upstream } from './types.ts';
import { targetUrl, upstreamPortFor } from './types.ts';

export async function startProgram(
  name: string,
  upstream: Upstream,
  scenario: Scenario,
  context: TargetContext,
): Promise<RunningTarget> {
  const file = path.join(import.meta.dirname, 'programs', `${name}.ts`);
  const { child, ready } = await startNodeProgram<{ type: 'ready'; port: number }>(
    name,
    file,
    { upstreamPort: upstreamPortFor(upstream, scenario) },
    context.cpus,
  );
  return { url: targetUrl(scenario, ready.port), pids: [child.pid], stop: () => child.stop() };
}
