// Every bench target, in the order rows appear in the report.
import type { Target } from './types.ts';
import { direct } from './direct.ts';
import { l4Pipe } from './l4-pipe.ts';
import { legateAllShared, legateAllWorkers, legateOneWorker } from './legate.ts';
import { naiveNode } from './naive-node.ts';
import { httpProxy } from './http-proxy.ts';
import { fastProxy } from './fast-proxy.ts';
import { nginx } from './nginx.ts';
import { haproxy } from './haproxy.ts';
import { nodeHttps } from './node-https.ts';

export const TARGETS: readonly Target[] = [direct, l4Pipe, nodeHttps, legateOneWorker, legateAllWorkers, legateAllShared, naiveNode, httpProxy, fastProxy, nginx, haproxy];

export function targetByName(name: string): Target {
  const target = TARGETS.find((t) => t.name === name);
  if (!target) throw new Error(`unknown target '${name}' (known: ${TARGETS.map((t) => t.name).join(', ')})`);
  return target;
}
