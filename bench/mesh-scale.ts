// npm run bench:mesh: the mesh-scale measurement of bench/mesh.ts alone, with its own sizes.
//   node bench/mesh-scale.ts [--services 1000,5000,10000] [--workers 1] [--changes 20] [--api GRPC|DELTA_GRPC]
import { CommandLine } from './command-line.ts';
import { measureMesh, meshTable, type MeshOptions } from './mesh.ts';

// Typed, so that a call to its fail() ends control flow for the type checker.
const cli: CommandLine = new CommandLine('mesh-scale', 'usage: node bench/mesh-scale.ts [--services 1000,5000,10000] [--workers 1] [--changes 20] [--api GRPC|DELTA_GRPC]');
const values = cli.parse({
  services: { type: 'string', default: '1000,5000,10000' },
  workers: { type: 'string', default: '1' },
  changes: { type: 'string', default: '20' },
  api: { type: 'string', default: 'GRPC' },
});
if (values.api !== 'GRPC' && values.api !== 'DELTA_GRPC') cli.fail(`--api must be GRPC or DELTA_GRPC, not '${values.api}'`);
const options: MeshOptions = {
  sizes: values.services.split(',').map((n) => cli.number('services', n, 1)),
  workers: cli.number('workers', values.workers, 1),
  changes: cli.number('changes', values.changes, 1),
  apiType: values.api,
};
const rows = await measureMesh(options, (line) => console.log(line));
console.log(`\n${meshTable(rows, options)}`);
