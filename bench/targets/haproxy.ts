// HAProxy, one thread, from the templates in bench/peers/haproxy/.
import fs from 'node:fs';
import path from 'node:path';
import { Child, stopOnFailure, waitFor } from '../child.ts';
import { canConnect, freePort } from '../ports.ts';
import { renderPeerConfig } from '../peers/render.ts';
import { peerValues } from '../peers/values.ts';
import { haproxyRouteMap } from '../peers/vhosts.ts';
import type { Target } from './types.ts';
import { lacking, targetUrl } from './types.ts';
import { findBinary } from './binary.ts';

const binary = findBinary('haproxy');

export const haproxy: Target = {
  name: 'haproxy',
  description: 'HAProxy, 1 thread',
  unavailable: () => (binary ? undefined : 'haproxy not installed (apt-get install haproxy)'),
  notApplicable: (scenario) => lacking('haproxy', ['host-routing', 'weighted-split', 'retry', 'tcp', 'tls', 'http2'], scenario),
  async start(upstream, scenario, context) {
    const port = await freePort();
    const mapFile = path.join(context.workDir, 'haproxy-routes.map');
    if (scenario.route === 'vhosts') fs.writeFileSync(mapFile, haproxyRouteMap('app'));
    const config = renderPeerConfig(`haproxy/${scenario.route}.cfg`, {
      ...peerValues(upstream, scenario, port, context.workDir),
      map_file: mapFile,
    });
    const file = path.join(context.workDir, `haproxy-${scenario.name}.cfg`);
    fs.writeFileSync(file, config);
    // -db: stay in the foreground, so the pid we hold is the process that serves.
    const child = new Child('haproxy', binary as string, ['-f', file, '-db'], { cpus: context.cpus });
    await stopOnFailure(child, () => waitFor(child, 'haproxy listener', 10_000, () => canConnect(port)));
    return { url: targetUrl(scenario, port), pids: [child.pid], stop: () => child.stop() };
  },
};
