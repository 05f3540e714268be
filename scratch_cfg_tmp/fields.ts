import protobuf from 'protobufjs';
import fs from 'node:fs';
import path from 'node:path';
const D = '/work/main/node_modules/@grpc/grpc-js-xds/deps';
const inc = ['envoy-api','xds','googleapis','protoc-gen-validate'].map(d=>path.join(D,d)).concat(['/work/main/node_modules/protobufjs']);
const root = new protobuf.Root();
root.resolvePath = (origin, target) => { if (path.isAbsolute(target)) return target; for (const dir of inc) { const p = path.join(dir, target); if (fs.existsSync(p)) return p; } return target; };
root.loadSync(process.argv[2].split(','), { keepCase: true }); root.resolveAll();
for (const t of process.argv.slice(3)) { const T = root.lookup(t) as any; if (T.values) { console.log(t, 'ENUM', Object.keys(T.values).join(' ')); continue; }
  console.log('==', t); for (const [k, f] of Object.entries<any>(T.fields)) console.log('  ', k, f.repeated?'[]':'', f.map?`map<${f.keyType}>`:'', f.type, f.partOf?`(oneof ${f.partOf.name})`:'', f.options?.deprecated?'DEPRECATED':'', JSON.stringify(f.parsedOptions?.find((o:any)=>o['(validate.rules)'])?.['(validate.rules)'] ?? '')); }
