// %GRPC_STATUS(CAMEL_STRING|SNAKE_STRING|NUMBER)%, as Envoy's GrpcStatusFormatter: for gRPC
// requests only, the grpc-status of the response trailers, else of the headers (a trailers-only
// answer), else the HTTP status mapped to gRPC's; user-defined codes are printed as numbers.
import { grpcStatusCamelName, grpcStatusOf, grpcStatusSnakeName, httpToGrpcStatus, isGrpcRequest } from '../grpc/index.ts';
import type { StreamInfo } from './stream-info.ts';

export function compileGrpcStatus(format: string): (info: StreamInfo) => string | number | undefined {
  const name = format === '' || format === 'CAMEL_STRING' ? grpcStatusCamelName : format === 'SNAKE_STRING' ? grpcStatusSnakeName : format === 'NUMBER' ? undefined : null;
  if (name === null) throw new Error(`access log format: %GRPC_STATUS(${format})% is not one of CAMEL_STRING, SNAKE_STRING or NUMBER`);
  return (info) => {
    const code = grpcStatus(info);
    if (code === undefined) return undefined;
    return name === undefined ? code : name(code);
  };
}

function grpcStatus(info: StreamInfo): number | undefined {
  if (info.requestHeaders === undefined || !isGrpcRequest({ path: info.path ?? '', headers: info.requestHeaders })) return undefined;
  return grpcStatusOf(info.responseTrailers, true) ?? grpcStatusOf(info.responseHeaders, true) ?? (info.responseCode === 0 ? undefined : httpToGrpcStatus(info.responseCode));
}
