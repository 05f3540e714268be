// Which load generator drives which scenario. HTTP scenarios use wrk when it is installed (it
// drives far more requests per second from one core than autocannon, whose ceiling near 23k req/s
// compressed every ratio), else autocannon; `--load-generator` picks one explicitly. Two
// scenarios are outside wrk's reach whatever is chosen: the fixed rate (wrk cannot pace; wrk2
// could) stays on bench's paced autocannon, and plain TCP stays on Node sockets.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { H2_STREAMS_PER_CONNECTION, type Scenario } from './scenarios.ts';
import { findBinary } from './targets/binary.ts';

export type LoadGeneratorName = 'wrk' | 'autocannon';
/** What actually ran a measurement. */
export type GeneratorUsed = LoadGeneratorName | 'node-sockets' | 'h2load';

export const LOAD_GENERATORS: readonly LoadGeneratorName[] = ['wrk', 'autocannon'];

export function wrkBinary(): string | undefined {
  return findBinary('wrk');
}

/** h2load, for the HTTP/2 scenarios (Debian: nghttp2-client). */
export function h2loadBinary(): string | undefined {
  return findBinary('h2load');
}

export function h2loadVersion(): string | undefined {
  const binary = h2loadBinary();
  if (!binary) return undefined;
  // "h2load nghttp2/1.52.0"
  return spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.match(/^h2load\s+(\S+)/m)?.[1];
}

export function defaultLoadGenerator(): LoadGeneratorName {
  return wrkBinary() ? 'wrk' : 'autocannon';
}

/** The generator that runs this scenario when `chosen` is asked for. */
export function generatorFor(scenario: Scenario, chosen: LoadGeneratorName): GeneratorUsed {
  if (scenario.protocol === 'tcp') return 'node-sockets';
  if (scenario.http2) return 'h2load';
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
        : used === 'h2load'
          ? `${scenario.name} runs on h2load ${h2loadVersion() ?? '(version unknown)'} (1 thread, ${H2_STREAMS_PER_CONNECTION} streams per connection)`
          : `${scenario.name} runs on bench's paced autocannon (wrk cannot hold a fixed rate)`,
    );
  return `${name}${why}${others.length > 0 ? `; ${others.join('; ')}` : ''}`;
}
