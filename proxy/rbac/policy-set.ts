// The engines of one RbacConfig (the filter's or a route's override), compiled once per config
// object: every stream that config applies to shares them.
import type { RbacConfig } from '../config/model.ts';
import { RbacEngine } from './engine.ts';

export interface RbacPolicySet {
  readonly enforced: RbacEngine | undefined; // no rules: everything is allowed
  readonly shadow: RbacEngine | undefined;
}

const compiled = new WeakMap<RbacConfig, RbacPolicySet>();

export function policySetOf(config: RbacConfig): RbacPolicySet {
  let set = compiled.get(config);
  if (set === undefined) {
    set = {
      enforced: config.rules === undefined ? undefined : new RbacEngine(config.rules),
      shadow: config.shadowRules === undefined ? undefined : new RbacEngine(config.shadowRules),
    };
    compiled.set(config, set);
  }
  return set;
}
