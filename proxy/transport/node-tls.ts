// node:tls, loaded on first use: a worker serving no TLS never loads it (it costs memory; see the
// same choice for node:http in the codec). Types come from `import type`, which loads nothing.
import { createRequire } from 'node:module';

type NodeTls = typeof import('node:tls');
let loaded: NodeTls | undefined;

export function nodeTls(): NodeTls {
  loaded ??= createRequire(import.meta.url)('node:tls') as NodeTls;
  return loaded;
}
