import { parseCidr } from './cidr.ts';

/** What to capture, in istio-iptables' vocabulary. '*' means everything. */
export interface CaptureOptions {
  /** The proxy's own uid and gid: its connections are never captured. */
  readonly proxyUid: number;
  readonly proxyGid: number;
  /** Where captured inbound connections go (Istio's 15006, the virtual inbound listener). */
  readonly inboundPort: number;
  /** Where captured outbound connections go (Istio's 15001, the virtual outbound listener). */
  readonly outboundPort: number;
  /** The admin server's port: never captured inbound. */
  readonly adminPort: number;
  readonly includeInboundPorts: '*' | readonly number[];
  readonly excludeInboundPorts: readonly number[];
  readonly includeOutboundCidrs: '*' | readonly string[];
  readonly excludeOutboundCidrs: readonly string[];
  readonly excludeOutboundPorts: readonly number[];
}

export const defaultCaptureOptions: CaptureOptions = Object.freeze({
  proxyUid: 1337,
  proxyGid: 1337,
  inboundPort: 15006,
  outboundPort: 15001,
  adminPort: 15000,
  includeInboundPorts: '*',
  excludeInboundPorts: [],
  includeOutboundCidrs: '*',
  excludeOutboundCidrs: [],
  excludeOutboundPorts: [],
});

/** A bad capture option; the message is one line naming the option and the value. */
export class CaptureOptionsError extends Error {
  override name = 'CaptureOptionsError';
}

const maxId = 0xfffffffe; // (uid_t)-1 means "unchanged" to the kernel, so it is no real id

/**
 * Fills in defaults (for fields absent or undefined), validates every field and returns frozen
 * options with CIDRs in canonical form. Throws CaptureOptionsError.
 */
export function captureOptions(partial: Partial<CaptureOptions> = {}): CaptureOptions {
  const given = Object.fromEntries(Object.entries(partial).filter(([, value]) => value !== undefined));
  // As in istio-iptables, the proxy's group defaults to its user id.
  const options = { ...defaultCaptureOptions, proxyGid: partial.proxyUid ?? defaultCaptureOptions.proxyGid, ...given };
  const includeCidrs = options.includeOutboundCidrs;
  return Object.freeze({
    proxyUid: checkId('proxyUid', options.proxyUid),
    proxyGid: checkId('proxyGid', options.proxyGid),
    inboundPort: checkPort('inboundPort', options.inboundPort),
    outboundPort: checkPort('outboundPort', options.outboundPort),
    adminPort: checkPort('adminPort', options.adminPort),
    includeInboundPorts:
      options.includeInboundPorts === '*' ? '*' : checkPorts('includeInboundPorts', options.includeInboundPorts),
    excludeInboundPorts: checkPorts('excludeInboundPorts', options.excludeInboundPorts),
    includeOutboundCidrs: includeCidrs === '*' ? '*' : checkCidrs('includeOutboundCidrs', includeCidrs),
    excludeOutboundCidrs: checkCidrs('excludeOutboundCidrs', options.excludeOutboundCidrs),
    excludeOutboundPorts: checkPorts('excludeOutboundPorts', options.excludeOutboundPorts),
  });
}

export function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535;
}

function checkPort(field: string, value: unknown): number {
  if (!isPort(value)) throw new CaptureOptionsError(`${field}: ${show(value)} is not a port (1-65535)`);
  return value;
}

function checkId(field: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > maxId) {
    throw new CaptureOptionsError(`${field}: ${show(value)} is not a user or group id (0-${maxId})`);
  }
  return value as number;
}

function checkPorts(field: string, values: unknown): readonly number[] {
  if (!Array.isArray(values)) throw new CaptureOptionsError(`${field}: expected a list of ports, got ${show(values)}`);
  return Object.freeze(unique(values.map((value) => checkPort(field, value))));
}

function checkCidrs(field: string, values: unknown): readonly string[] {
  if (!Array.isArray(values)) throw new CaptureOptionsError(`${field}: expected a list of CIDRs or '*', got ${show(values)}`);
  return Object.freeze(
    unique(
      values.map((value) => {
        if (typeof value !== 'string') throw new CaptureOptionsError(`${field}: ${show(value)} is not a CIDR`);
        try {
          return parseCidr(value).text;
        } catch (error) {
          throw new CaptureOptionsError(`${field}: ${(error as Error).message}`);
        }
      }),
    ),
  );
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}
