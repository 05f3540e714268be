// A bare node:https server answering the TLS scenarios itself (programs/node-https.ts): a
// baseline, like direct, for what node's TLS costs before any proxying.
import path from 'node:path';
import { startNodeProgram } from '../child.ts';
import { benchCertificateFiles } from '../tls-cert.ts';
import type { Target } from './types.ts';
import { targetUrl } from './types.ts';

export const nodeHttps: Target = {
  name: 'node-https',
  description: 'a bare node:https server answering GET /64 itself (no proxying): the floor of a Node TLS terminator',
  baseline: true,
  unavailable: () => undefined,
  notApplicable: (scenario) => (scenario.tls === true && scenario.http2 !== true && scenario.http?.path === '/64' ? undefined : 'node-https only answers GET /64 over HTTPS/1.1'),
  async start(_upstream, scenario, context) {
    const { certFile, keyFile } = benchCertificateFiles(context.workDir);
    const file = path.join(import.meta.dirname, 'programs', 'node-https.ts');
    const { child, ready } = await startNodeProgram<{ type: 'ready'; port: number }>('node-https', file, { certFile, keyFile }, context.cpus);
    return { url: targetUrl(scenario, ready.port), pids: [child.pid], stop: () => child.stop() };
  },
};
