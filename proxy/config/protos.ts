// The Envoy schema config is checked against (loaded once per process by envoy-api/).
import protobuf from 'protobufjs';
import { envoyProtoRoot, lookupMessage } from '../../envoy-api/index.ts';

export { envoyProtoRoot, lookupMessage };

// The number of an enum value given by name (the schema normalises enums to names).
export function enumNumber(enumName: string, valueName: string): number | undefined {
  const found = envoyProtoRoot().lookup(`.${enumName}`);
  return found instanceof protobuf.Enum ? found.values[valueName] : undefined;
}
