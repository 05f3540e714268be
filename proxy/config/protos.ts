// The Envoy schema config is checked against (loaded once per process by envoy-api/).
import { envoyProtoRoot, lookupMessage, protobufjs } from '../../envoy-api/index.ts';

export { envoyProtoRoot, lookupMessage, protobufjs };

// The number of an enum value given by name (the schema normalises enums to names).
export function enumNumber(enumName: string, valueName: string): number | undefined {
  const found = envoyProtoRoot().lookup(`.${enumName}`);
  return found instanceof protobufjs().Enum ? found.values[valueName] : undefined;
}
