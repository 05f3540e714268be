// A listener filter's filter_disabled (ListenerFilterChainMatchPredicate): whether the filter is
// skipped for a connection, judged on its destination port (Istio turns its inspectors off for
// ports it knows are not HTTP or TLS).
import type { ListenerFilterPredicate } from '../config/model.ts';

export function filterDisabled(predicate: ListenerFilterPredicate | undefined, destinationPort: number): boolean {
  if (predicate === undefined) return false;
  switch (predicate.kind) {
    case 'any':
      return true;
    case 'or':
      return predicate.rules.some((r) => filterDisabled(r, destinationPort));
    case 'and':
      return predicate.rules.every((r) => filterDisabled(r, destinationPort));
    case 'not':
      return !filterDisabled(predicate.rule, destinationPort);
    case 'ports':
      return destinationPort >= predicate.start && destinationPort < predicate.end;
  }
}
