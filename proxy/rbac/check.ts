// One RBAC filter's decision with Envoy's counters (filters/common/rbac/utility.cc): under
// <prefix>rbac., `<rules_stat_prefix>allowed|denied` for the enforced rules and
// `<shadow_rules_stat_prefix>shadow_allowed|shadow_denied` for the shadow ones. A route's override
// swaps the rules, not the counters.
import type { RbacConfig } from '../config/model.ts';
import type { Counter, Store } from '../stats/index.ts';
import type { RbacDecision, RbacInput } from './engine.ts';
import type { RbacPolicySet } from './policy-set.ts';

export class RbacCheck {
  private readonly allowed: Counter;
  private readonly denied: Counter;
  private readonly shadowAllowed: Counter;
  private readonly shadowDenied: Counter;

  /** `prefix` is Envoy's stats prefix of the filter: 'http.<hcm stat_prefix>.' or the network filter's stat_prefix. */
  constructor(store: Store, prefix: string, config: RbacConfig) {
    const base = statPrefixJoin(prefix, 'rbac.');
    this.allowed = store.counter(`${base}${config.rulesStatPrefix}allowed`);
    this.denied = store.counter(`${base}${config.rulesStatPrefix}denied`);
    this.shadowAllowed = store.counter(`${base}${config.shadowRulesStatPrefix}shadow_allowed`);
    this.shadowDenied = store.counter(`${base}${config.shadowRulesStatPrefix}shadow_denied`);
  }

  /**
   * Counts the shadow rules' verdict (handed to `onShadow`, for the dynamic metadata), then decides
   * by the enforced ones; undefined when none are enforced.
   */
  decide(set: RbacPolicySet, input: RbacInput, onShadow?: (shadow: RbacDecision) => void): RbacDecision | undefined {
    if (set.shadow !== undefined) {
      const shadow = set.shadow.evaluate(input);
      (shadow.allowed ? this.shadowAllowed : this.shadowDenied).inc();
      onShadow?.(shadow);
    }
    if (set.enforced === undefined) return undefined;
    const decision = set.enforced.evaluate(input);
    (decision.allowed ? this.allowed : this.denied).inc();
    return decision;
  }
}

// Envoy's statPrefixJoin: a '.' between the two unless the prefix already ends with one.
function statPrefixJoin(prefix: string, token: string): string {
  if (prefix === '') return token;
  return prefix.endsWith('.') ? prefix + token : `${prefix}.${token}`;
}
