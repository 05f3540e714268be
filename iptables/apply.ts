import { spawn } from 'node:child_process';
import { buildCleanup, readNatState } from './cleanup.ts';
import type { CaptureOptions } from './options.ts';
import { buildRules } from './rules.ts';

/** iptables could not be run or refused the rules; the message is one line. */
export class IptablesError extends Error {
  override name = 'IptablesError';
}

export interface FamilyOptions {
  /** Also write the IPv6 rules with ip6tables (default true: uncaptured IPv6 would bypass the proxy). */
  readonly ipv6?: boolean;
}

const tools = {
  4: { save: 'iptables-save', restore: 'iptables-restore' },
  6: { save: 'ip6tables-save', restore: 'ip6tables-restore' },
} as const;

/**
 * Installs the capture rules in the current network namespace. Each family is one atomic
 * iptables-restore transaction that also replaces what a previous apply left, so applying twice
 * gives the same rules as applying once.
 */
export async function apply(options: CaptureOptions, { ipv6 = true }: FamilyOptions = {}): Promise<void> {
  for (const family of families(ipv6)) {
    const state = readNatState(await run(tools[family].save, ['-t', 'nat'], family));
    await run(tools[family].restore, ['--noflush'], family, buildRules(options, family, state.jumps));
  }
}

/** Removes Legate's jump rules and chains from the current network namespace; a no-op if none. */
export async function clean({ ipv6 = true }: FamilyOptions = {}): Promise<void> {
  for (const family of families(ipv6)) {
    const cleanup = buildCleanup(readNatState(await run(tools[family].save, ['-t', 'nat'], family)));
    if (cleanup !== null) await run(tools[family].restore, ['--noflush'], family, cleanup);
  }
}

function families(ipv6: boolean): (4 | 6)[] {
  return ipv6 ? [4, 6] : [4];
}

function run(command: string, args: string[], family: 4 | 6, input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // The child may exit before reading all of stdin; its exit status tells what went wrong.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        new IptablesError(
          error.code === 'ENOENT'
            ? `${command} not found: install the iptables package (apt-get install iptables)`
            : `${command} could not be started: ${error.message}`,
        ),
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(stdout);
      reject(new IptablesError(describeFailure(command, family, stderr, code, signal)));
    });
  });
}

function describeFailure(command: string, family: 4 | 6, stderr: string, code: number | null, signal: string | null): string {
  const detail = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('Try `'))
    .join('; ');
  const status = signal ? `killed by ${signal}` : `exit ${code}`;
  if (/permission denied|must be root/i.test(detail)) {
    return `${command} needs root (CAP_NET_ADMIN) in this network namespace (${detail || status})`;
  }
  const hint = family === 6 ? ' (skip IPv6 with --no-ipv6)' : '';
  return `${command} failed${hint}: ${detail || status}`;
}
