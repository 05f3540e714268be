// npm run bench:mesh: the mesh-scale measurement of bench/mesh.ts alone, with its own sizes.
//   node bench/mesh-scale.ts [--services 1000,5000,10000] [--workers 1] [--changes 20] [--api GRPC|DELTA_GRPC]
import { parseArgs } from 'node:util';
import { measureMesh, meshTable, type MeshOptions } from './mesh.ts';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '1000,5000,10000' },
    workers: { type: 'string', default: '1' },
    changes: { type: 'string', default: '20' },
    api: { type: 'string', default: 'GRPC' },
  },
});
const options: MeshOptions = {
  sizes: values.services.split(',').map(Number),
  workers: Number(values.workers),
  changes: Number(values.changes),
  apiType: values.api === 'DELTA_GRPC' ? 'DELTA_GRPC' : 'GRPC',
};
const rows = await measureMesh(options, (line) => console.log(line));
console.log(`\n${meshTable(rows, options)}`);
