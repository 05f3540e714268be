// The trace status Envoy keeps inside a UUID x-request-id (its UUIDRequestIDExtension with
// pack_trace_reason): one hex digit, the 15th character (the UUID's version digit), says whether
// the request is traced and why, so every Envoy along the way agrees without asking. The first 8
// hex digits, as a number, give the stable value that random and overall sampling compare.

export type TraceStatus = 'no_trace' | 'forced' | 'sampled' | 'client';

const POSITION = 14;
const UUID_LENGTH = 36;
const DIGITS: Record<TraceStatus, string> = { no_trace: '4', forced: 'a', sampled: '9', client: 'b' };

export function traceStatus(requestId: string): TraceStatus {
  if (requestId.length !== UUID_LENGTH) return 'no_trace';
  switch (requestId[POSITION]) {
    case 'a':
      return 'forced';
    case '9':
      return 'sampled';
    case 'b':
      return 'client';
    default:
      return 'no_trace';
  }
}

/** The id with its status digit set; an id that is not a UUID is returned as it is. */
export function withTraceStatus(requestId: string, status: TraceStatus): string {
  if (requestId.length !== UUID_LENGTH) return requestId;
  return requestId.slice(0, POSITION) + DIGITS[status] + requestId.slice(POSITION + 1);
}

/** The first 8 hex digits as a number, or undefined when the id is shorter or not hex there. */
export function requestIdInteger(requestId: string): number | undefined {
  if (requestId.length < 8) return undefined;
  const head = requestId.slice(0, 8);
  return /^[0-9a-fA-F]{8}$/.test(head) ? parseInt(head, 16) : undefined;
}
