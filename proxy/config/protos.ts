// Envoy's .proto files (shipped in @grpc/grpc-js-xds's deps/) loaded once, lazily, into a
// protobufjs Root: the schema that config is checked against. Loading takes ~200 ms.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
import { EXTENSION_PROTO_FILES } from './extensions.ts';

let root: protobuf.Root | undefined;

export function envoyProtoRoot(): protobuf.Root {
  root ??= loadRoot();
  return root;
}

function loadRoot(): protobuf.Root {
  const require = createRequire(import.meta.url);
  const xdsPackage = path.resolve(path.dirname(require.resolve('@grpc/grpc-js-xds')), '..', '..');
  const deps = path.join(xdsPackage, 'deps');
  const includeDirs = [
    ...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(deps, d)),
    // google/protobuf/descriptor.proto, which the validate annotations import.
    path.dirname(require.resolve('protobufjs')),
  ];
  const loaded = new protobuf.Root();
  loaded.resolvePath = (_origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of includeDirs) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  loaded.loadSync(EXTENSION_PROTO_FILES, { keepCase: true });
  loaded.resolveAll();
  return loaded;
}

// The message type with this full name (no leading dot), or undefined.
export function lookupMessage(name: string): protobuf.Type | undefined {
  const found = envoyProtoRoot().lookup(`.${name}`);
  return found instanceof protobuf.Type ? found : undefined;
}

// The number of an enum value given by name (the schema normalises enums to names).
export function enumNumber(enumName: string, valueName: string): number | undefined {
  const found = envoyProtoRoot().lookup(`.${enumName}`);
  return found instanceof protobuf.Enum ? found.values[valueName] : undefined;
}
