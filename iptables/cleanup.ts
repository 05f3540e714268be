/** What Legate has left in a nat table, read from iptables-save output. */
export interface NatState {
  /** Rules in other chains (PREROUTING, OUTPUT, ...) that jump into a LEGATE_ chain, as `-A ...`. */
  readonly jumps: readonly string[];
  /** Every LEGATE_ chain present. */
  readonly chains: readonly string[];
}

export function readNatState(saved: string): NatState {
  const jumps: string[] = [];
  const chains: string[] = [];
  let inNat = false;
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) inNat = line === '*nat';
    if (!inNat) continue;
    const chain = /^:(LEGATE_\S+) /.exec(line);
    if (chain) chains.push(chain[1]);
    if (/^-A (?!LEGATE_)\S+ .*-[jg] LEGATE_\S+/.test(line)) jumps.push(line);
  }
  return { jumps, chains };
}

/**
 * iptables-restore --noflush input that removes the jump rules, then empties and deletes the
 * chains (emptied first, as the chains jump to one another). Null when there is nothing to remove.
 */
export function buildCleanup(state: NatState): string | null {
  if (state.jumps.length === 0 && state.chains.length === 0) return null;
  return [
    '*nat',
    ...state.jumps.map((rule) => rule.replace(/^-A /, '-D ')),
    ...state.chains.map((chain) => `-F ${chain}`),
    ...state.chains.map((chain) => `-X ${chain}`),
    'COMMIT',
    '',
  ].join('\n');
}
