// Legate itself, run the way a user runs it: the package's `legate` command (bin/legate.js),
// `legate run -c BOOTSTRAP --workers N` with an Envoy v3 bootstrap from bench/peers/legate/, ready
// when admin /ready answers 200. Not `node proxy/cli.ts`, which loads Node's TypeScript
// transpiler in the primary (~20 MB that stays, in the RSS column of legate-1, which serves).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Child, stopOnFailure, waitFor } from '../child.ts';
import { canConnect, freePort } from '../ports.ts';
import { renderPeerConfig } from '../peers/render.ts';
import { peerValues } from '../peers/values.ts';
import { legateVirtualHosts } from '../peers/vhosts.ts';
import type { Target } from './types.ts';
import { lacking, targetUrl } from './types.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const CLI = path.join(REPO, 'bin', 'legate.js');

async function adminReady(adminPort: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${adminPort}/ready`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

function legate(name: string, workers: number, description: string, extraArgs: string[] = []): Target {
  return {
    name,
    description,
    unavailable: () => (fs.existsSync(CLI) ? undefined : 'bin/legate.js not found'),
    notApplicable: (scenario) => lacking('legate', ['host-routing', 'weighted-split', 'retry', 'tcp', 'tls', 'http2'], scenario),
    async start(upstream, scenario, context) {
      const [port, adminPort] = [await freePort(), await freePort()];
      const config = renderPeerConfig(`legate/${scenario.route}.yaml`, {
        ...peerValues(upstream, scenario, port, context.workDir),
        admin_port: adminPort,
        virtual_hosts: scenario.route === 'vhosts' ? legateVirtualHosts('upstream') : '',
      });
      const file = path.join(context.workDir, `${name}-${scenario.name}.yaml`);
      fs.writeFileSync(file, config);
      const child = new Child(name, process.execPath, [CLI, 'run', '-c', file, '--workers', String(workers), ...extraArgs], {
        cpus: context.cpus,
        cwd: REPO,
      });
      await stopOnFailure(child, async () => {
        await waitFor(child, 'admin /ready', 20_000, () => adminReady(adminPort));
        await waitFor(child, 'listener', 5_000, () => canConnect(port));
      });
      return { url: targetUrl(scenario, port), pids: [child.pid], stop: () => child.stop() };
    },
  };
}

export const legateOneWorker = legate('legate-1', 1, 'Legate, 1 worker');
const cpus = os.availableParallelism();
export const legateAllWorkers = legate('legate-all', cpus, `Legate, ${cpus} workers (one per CPU), one SO_REUSEPORT socket each`);
// The alternative socket model: node:cluster's primary accepts and hands connections round robin.
export const legateAllShared = legate('legate-all-shared', cpus, `Legate, ${cpus} workers sharing the primary's socket (--no-reuse-port)`, ['--no-reuse-port']);
