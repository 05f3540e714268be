#!/usr/bin/env node
// The `legate` command. Legate is TypeScript run by Node's type stripping; on an older Node this
// re-runs the command on the Node 24 the package pins (the `node` devDependency).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../proxy/cli.ts', import.meta.url));
const [major, minor] = process.versions.node.split('.').map(Number);
if (major > 22 || (major === 22 && minor >= 18)) {
  const { main } = await import(cli);
  await main(process.argv);
} else {
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    console.error(`legate: needs Node >= 22.18 (this is ${process.version}); run 'npm install' to get the pinned Node 24`);
    process.exit(1);
  }
  // Signals (drain on SIGTERM, reload on SIGHUP) go on to the real process.
  const child = spawn(pinned, [cli, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
