// The Envoy schema the discovery service and the proto3 JSON mapping (proto-json.ts) walk; loaded
// once per process by envoy-api/. protobufjs reflection, not a proto-loader package definition,
// because the JSON mapping needs the full schema.
import type protobuf from 'protobufjs';
import { envoyProtoRoot, lookupMessage } from '../envoy-api/index.ts';

export { lookupMessage };

export function protoRoot(): protobuf.Root {
  return envoyProtoRoot();
}

export function requireMessage(fullName: string): protobuf.Type {
  const found = lookupMessage(fullName);
  if (found === undefined) throw new Error(`protobuf message type ${fullName} is not loaded`);
  return found;
}
