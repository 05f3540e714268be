#!/usr/bin/env node
// The `legate` command. Legate is TypeScript run by Node's type stripping; on an older Node this
// re-runs the command on the Node 24 the package pins (the `node` devDependency).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../proxy/cli.ts', import.meta.url));
const [major, minor] = process.versions.node.split('.').map(Number);
if (major > 22 || (major === 22 && minor >= 18)) {
  // Node's compile cache on before the first .ts file loads, so that cli.ts and what it imports are
  // read already stripped and this process never loads the TypeScript transpiler (~20 MB that
  // stays); proxy/server/compile-cache.ts does the same for the rest and for the workers.
  const cache = module.enableCompileCache?.();
  if (cache?.status === module.constants.compileCacheStatus.ENABLED && cache.directory !== undefined) process.env.NODE_COMPILE_CACHE ??= cache.directory;
  const { main } = await import(cli);
  await main(process.argv);
} else {
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    console.error(`legate: needs Node >= 22.18 (this is ${process.version}); run 'npm install' to get the pinned Node 24`);
    process.exit(1);
  }
  // This file again, on that Node. Signals (drain on SIGTERM, reload on SIGHUP) go on to it.
  const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
