// A RuntimeFractionalPercent decided for one request: the runtime's value for its key when set,
// else the configured default, is the share of requests for which a feature is on.
import type { RuntimeKey } from '../../config/model.ts';
import { runtime } from '../../runtime/index.ts';

export function chance(percent: number, key?: RuntimeKey): boolean {
  if (key !== undefined) percent = runtime.snapshot.percent(key.key, percent, key.denominator);
  return percent >= 100 || (percent > 0 && Math.random() * 100 < percent);
}
