import type { Listener } from '../config/model.ts';

/**
 * Envoy's root for a listener's stats: listener.<stat_prefix>. when the listener sets one, else
 * listener.<ip>_<port>. (its configured address), or listener.envoy_internal_<name>. for an
 * internal listener.
 */
export function listenerStatRoot(config: Pick<Listener, 'statPrefix' | 'internal' | 'name' | 'address'>): string {
  if (config.statPrefix !== undefined) return `listener.${config.statPrefix}.`;
  return config.internal === true ? `listener.envoy_internal_${config.name}.` : `listener.${config.address.address}_${config.address.port}.`;
}
