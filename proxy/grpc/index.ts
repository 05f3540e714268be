export { GrpcStatus, INVALID_GRPC_STATUS, grpcStatusCamelName, grpcStatusOf, grpcStatusSnakeName, httpToGrpcStatus } from './status.ts';
export { hasGrpcContentType, isGrpcRequest } from './request.ts';
export { formatGrpcTimeout, parseGrpcTimeout } from './timeout.ts';
export { GrpcFrameCounter } from './frame-counter.ts';
