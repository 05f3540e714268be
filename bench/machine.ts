// What the numbers were measured on: they mean little without it.
import fs from 'node:fs';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { findBinary } from './targets/binary.ts';

export interface MachineInfo {
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  nginx?: string;
  haproxy?: string;
  /** 1-minute load average when the run started: other work on the machine makes figures noise. */
  loadAverage: number;
}

function versionLine(name: string, args: string[]): string | undefined {
  const binary = findBinary(name);
  if (!binary) return undefined;
  const result = spawnSync(binary, args, { encoding: 'utf8' });
  return `${result.stdout}${result.stderr}`.trim().split('\n')[0];
}

export function describeMachine(): MachineInfo {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    cpuModel = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1] ?? cpuModel;
  } catch {
    // not Linux: os.cpus() is good enough
  }
  return {
    cpuModel,
    cpus: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    nginx: versionLine('nginx', ['-v'])?.replace(/^nginx version:\s*nginx\//, 'nginx '),
    haproxy: versionLine('haproxy', ['-v'])?.replace(/^HAProxy version (\S+).*$/, 'HAProxy $1'),
    loadAverage: Math.round(os.loadavg()[0] * 100) / 100,
  };
}
