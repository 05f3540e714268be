// Which load generator drives which scenario. HTTP scenarios use wrk when it is installed (it
// drives far more requests per second from one core than autocannon, whose ceiling near 23k req/s
// compressed every ratio), else autocannon; `--load-generator` picks one explicitly. Two
// scenarios are outside wrk's reach whatever is chosen: the fixed rate (wrk cannot pace; wrk2
// could) stays on bench's paced autocannon, and plain TCP stays on Node sockets.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Scenario } from './scenarios.ts';
import { findBinary } from './targets/binary.ts';

export type LoadGeneratorName = 'wrk' | 'autocannon';
/** What actually ran a measurement. */
export type GeneratorUsed = LoadGeneratorName | 'node-sockets';

export const LOAD_GENERATORS: readonly LoadGeneratorName[] = ['wrk', 'autocannon'];

export function wrkBinary(): string | undefined {
  return findBinary('wrk');
}

export function defaultLoadGenerator(): LoadGeneratorName {
  return wrkBinary() ? 'wrk' : 'autocannon';
}

/** The generator that runs this scenario when `chosen` is asked for. */
export function generatorFor(scenario: Scenario, chosen: LoadGeneratorName): GeneratorUsed {
  if (scenario.protocol === 'tcp') return 'node-sockets';
  if (scenario.http?.rate) return 'autocannon';
  return chosen;
}

export function wrkVersion(): string | undefined {
  const binary = wrkBinary();
  if (!binary) return undefined;
  const result = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  // "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer"
  return `${result.stdout}${result.stderr}`.match(/^wrk\s+(\S+)/m)?.[1];
}

export function autocannonVersion(): string | undefined {
  try {
    const file = path.resolve(import.meta.dirname, '..', 'node_modules', 'autocannon', 'package.json');
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** One line for the report header: what generated the load, and where the other one stepped in. */
export function describeLoadGenerator(chosen: LoadGeneratorName, scenarios: readonly Scenario[], defaulted: boolean): string {
  const name =
    chosen === 'wrk'
      ? `wrk ${wrkVersion() ?? '(version unknown)'} (1 thread, Lua script for method/body/headers)`
      : `autocannon ${autocannonVersion() ?? '(version unknown)'}`;
  const why = defaulted ? (chosen === 'wrk' ? ', the default when wrk is installed' : ', the default as wrk is not installed') : ', chosen with --load-generator';
  const others = scenarios
    .map((scenario) => ({ scenario, used: generatorFor(scenario, chosen) }))
    .filter(({ used }) => used !== chosen)
    .map(({ scenario, used }) =>
      used === 'node-sockets'
        ? `${scenario.name} reads plain TCP streams with Node sockets`
        : `${scenario.name} runs on bench's paced autocannon (wrk cannot hold a fixed rate)`,
    );
  return `${name}${why}${others.length > 0 ? `; ${others.join('; ')}` : ''}`;
}
