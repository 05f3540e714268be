// gRPC status codes (grpc/doc/statuscodes.md) and the relations Envoy draws between them and HTTP
// (source/common/grpc/common.cc, utility.cc).

export const GrpcStatus = {
  Ok: 0,
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;

/** A grpc-status value Envoy could not read as a number (its InvalidCode). */
export const INVALID_GRPC_STATUS = -1;

const MAXIMUM_KNOWN = GrpcStatus.Unauthenticated;

type HeaderValue = string | string[] | number | undefined;

/**
 * Envoy's httpToGrpcStatus (grpc/doc/http-grpc-status-mapping.md): the status a gRPC client is
 * told when Legate answers an HTTP status itself.
 */
export function httpToGrpcStatus(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.Internal;
    case 401:
      return GrpcStatus.Unauthenticated;
    case 403:
      return GrpcStatus.PermissionDenied;
    case 404:
      return GrpcStatus.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.Unavailable;
    default:
      return GrpcStatus.Unknown;
  }
}

/**
 * The grpc-status of a header or trailer block, as Envoy's getGrpcStatus: undefined when absent or
 * empty, INVALID_GRPC_STATUS when not a number (or, unless user-defined codes are allowed, above
 * the known ones).
 */
export function grpcStatusOf(headers: Record<string, HeaderValue> | undefined, allowUserDefined = false): number | undefined {
  if (headers === undefined) return undefined;
  let value = headers['grpc-status'];
  if (Array.isArray(value)) value = value[0];
  if (value === undefined || value === '') return undefined;
  const text = String(value);
  if (!/^\d{1,10}$/.test(text)) return INVALID_GRPC_STATUS;
  const code = Number(text);
  return code > MAXIMUM_KNOWN && !allowUserDefined ? INVALID_GRPC_STATUS : code;
}

const CAMEL_NAMES: readonly string[] = Object.keys(GrpcStatus);

// absl::StatusCodeToString spells Canceled with two Ls.
const SNAKE_NAMES: readonly string[] = CAMEL_NAMES.map((name) =>
  name === 'Canceled' ? 'CANCELLED' : name.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase(),
);

/** Envoy's grpcStatusToString (%GRPC_STATUS(CAMEL_STRING)%): 'Unavailable'; the number for others. */
export function grpcStatusCamelName(code: number): string {
  return CAMEL_NAMES[code] ?? String(code);
}

/** absl's StatusCodeToString (%GRPC_STATUS(SNAKE_STRING)%): 'UNAVAILABLE'; the number for others. */
export function grpcStatusSnakeName(code: number): string {
  return SNAKE_NAMES[code] ?? String(code);
}
