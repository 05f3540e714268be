// The grpc-timeout request header (grpc/doc/PROTOCOL-HTTP2.md): at most 8 digits and a unit,
// H M S m u n. Read and written as Envoy's Grpc::Common::getGrpcTimeout / toGrpcTimeout do.

const MAX_VALUE = 99_999_999;
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;

/** The timeout in milliseconds (micro- and nanoseconds rounded up); undefined when absent or invalid. */
export function parseGrpcTimeout(value: string | string[] | number | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TIMEOUT.exec(value);
  if (m === null) return undefined;
  const n = Number(m[1]);
  switch (m[2]) {
    case 'H':
      return n * 3_600_000;
    case 'M':
      return n * 60_000;
    case 'S':
      return n * 1000;
    case 'm':
      return n;
    case 'u':
      return Math.ceil(n / 1000);
    default:
      return Math.ceil(n / 1_000_000);
  }
}

/** Milliseconds as a grpc-timeout value: in ms while it fits 8 digits, else the next unit up (clipped in hours). */
export function formatGrpcTimeout(ms: number): string {
  let time = Math.floor(ms);
  if (time <= MAX_VALUE) return `${time}m`;
  time = Math.floor(time / 1000);
  if (time <= MAX_VALUE) return `${time}S`;
  time = Math.floor(time / 60);
  if (time <= MAX_VALUE) return `${time}M`;
  time = Math.floor(time / 60);
  return `${Math.min(time, MAX_VALUE)}H`;
}
