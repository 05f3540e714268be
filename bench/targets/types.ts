// What every bench target provides: a way to start it in front of the upstream for a scenario.
import type { Capability, Scenario } from '../scenarios.ts';

/** Where the upstream process listens (all on 127.0.0.1). */
export interface Upstream {
  /** HTTP listeners; the weighted split uses all of them, everything else the first. */
  http: number[];
  /** The TCP byte source. */
  tcp: number;
}

export interface TargetContext {
  /** CPU list for the proxy's processes (taskset -c), if pinning. */
  cpus?: string;
  /** A scratch directory for generated configs and logs, removed after the run. */
  workDir: string;
}

export interface RunningTarget {
  /** http://127.0.0.1:PORT, https://127.0.0.1:PORT (TLS scenarios) or tcp://127.0.0.1:PORT */
  url: string;
  /** Root processes to measure CPU and memory of (their children count too); none for direct. */
  pids: number[];
  stop(): Promise<void>;
}

export interface Target {
  name: string;
  description: string;
  /** direct and the L4 pipe: ceilings that forward anything, rather than proxies under test. */
  baseline?: boolean;
  /** Why this target cannot run on this machine (binary missing), or undefined. */
  unavailable(): string | undefined;
  /** Why this target cannot run this scenario, or undefined. */
  notApplicable(scenario: Scenario): string | undefined;
  start(upstream: Upstream, scenario: Scenario, context: TargetContext): Promise<RunningTarget>;
}

const CAPABILITY_WORDS: Record<Capability, string> = {
  'host-routing': 'route by Host header',
  'weighted-split': 'split traffic by weight',
  retry: 'retry a 503',
  tcp: 'proxy plain TCP',
  tls: 'terminate TLS',
  http2: 'serve HTTP/2 to clients',
};

/** The n/a reason for a proxy with these capabilities. */
export function lacking(name: string, can: readonly Capability[], scenario: Scenario): string | undefined {
  const missing = scenario.requires.find((capability) => !can.includes(capability));
  return missing ? `${name} cannot ${CAPABILITY_WORDS[missing]}` : undefined;
}

/** The upstream port a single-upstream target forwards to for this scenario. */
export function upstreamPortFor(upstream: Upstream, scenario: Scenario): number {
  return scenario.protocol === 'tcp' ? upstream.tcp : upstream.http[0];
}

export function targetUrl(scenario: Scenario, port: number): string {
  const scheme = scenario.protocol === 'tcp' ? 'tcp' : scenario.tls ? 'https' : 'http';
  return `${scheme}://127.0.0.1:${port}`;
}
