// HTTP upgrades (websocket and the like) and CONNECT, as Envoy's HCM treats them with
// upgrade_configs: the stream runs through the same route lookup and filters as any request; the
// upgrade type must be enabled (the route's upgrade config decides when it names the type, else
// the HCM's; otherwise 403 and downstream_rq_ws_on_non_ws_route). The router then carries the
// stream's bytes both ways once the upstream accepted (codec/ switches to raw bytes).
import type { RequestHeaders } from '../codec/index.ts';
import type { UpgradeConfig } from '../config/model.ts';

/** The request's upgrade type ('websocket', 'connect', …), or undefined. An h2c upgrade is served as HTTP/1.1, as Envoy does. */
export function upgradeTypeOf(head: RequestHeaders): string | undefined {
  if (head.method === 'CONNECT') return 'connect';
  const upgrade = head.headers.upgrade;
  // An Upgrade header the Connection header does not name is an ordinary hop-by-hop header.
  if (upgrade === undefined || !/(^|,)\s*upgrade\s*(,|$)/i.test(String(head.headers.connection ?? ''))) return undefined;
  const type = String(upgrade).toLowerCase();
  return type === 'h2c' ? undefined : type;
}

/** Envoy's rule: a route's upgrade config decides when it names the type, else the HCM's. */
export function upgradeEnabled(type: string, hcm: readonly UpgradeConfig[], route: readonly UpgradeConfig[] | undefined): boolean {
  const perRoute = route?.find((u) => u.upgradeType === type);
  if (perRoute !== undefined) return perRoute.enabled;
  return hcm.find((u) => u.upgradeType === type)?.enabled === true;
}
