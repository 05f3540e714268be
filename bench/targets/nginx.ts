// nginx, one worker process, from the templates in bench/peers/nginx/.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Child, stopOnFailure, waitFor } from '../child.ts';
import { canConnect, freePort } from '../ports.ts';
import { renderPeerConfig } from '../peers/render.ts';
import { peerValues } from '../peers/values.ts';
import { nginxServerBlocks } from '../peers/vhosts.ts';
import type { Target } from './types.ts';
import { lacking, targetUrl } from './types.ts';
import { findBinary } from './binary.ts';

const binary = findBinary('nginx');

/** The load_module line the stream module needs: '' if built in, undefined if unavailable. */
const streamModule = ((): string | undefined => {
  if (!binary) return undefined;
  const build = spawnSync(binary, ['-V'], { encoding: 'utf8' }).stderr ?? '';
  if (/--with-stream(\s|$)/.test(build)) return '';
  if (!build.includes('--with-stream=dynamic')) return undefined;
  const modulesPath = build.match(/--modules-path=(\S+)/)?.[1];
  const dirs = [modulesPath, '/usr/lib/nginx/modules', '/usr/share/nginx/modules', '/usr/lib64/nginx/modules'];
  const file = dirs
    .filter((dir): dir is string => dir !== undefined)
    .map((dir) => path.join(dir, 'ngx_stream_module.so'))
    .find((candidate) => fs.existsSync(candidate));
  return file ? `load_module ${file};` : undefined;
})();

export const nginx: Target = {
  name: 'nginx',
  description: 'nginx, 1 worker process',
  unavailable: () => (binary ? undefined : 'nginx not installed (apt-get install nginx-light)'),
  notApplicable(scenario) {
    if (scenario.protocol === 'tcp' && streamModule === undefined) {
      return 'nginx has no stream module (apt-get install libnginx-mod-stream)';
    }
    return lacking('nginx', ['host-routing', 'weighted-split', 'retry', 'tcp', 'tls', 'http2'], scenario);
  },
  async start(upstream, scenario, context) {
    const port = await freePort();
    const config = renderPeerConfig(`nginx/${scenario.route}.conf`, {
      ...peerValues(upstream, scenario, port, context.workDir),
      load_stream_module: streamModule ?? '',
      server_blocks: scenario.route === 'vhosts' ? nginxServerBlocks(port, 'app') : '',
    });
    const file = path.join(context.workDir, `nginx-${scenario.name}.conf`);
    fs.writeFileSync(file, config);
    const child = new Child('nginx', binary as string, ['-c', file, '-p', context.workDir], { cpus: context.cpus });
    await stopOnFailure(child, () => waitFor(child, 'nginx listener', 10_000, () => canConnect(port)));
    return { url: targetUrl(scenario, port), pids: [child.pid], stop: () => child.stop() };
  },
};
