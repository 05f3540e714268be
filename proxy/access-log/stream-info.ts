// The record of one downstream stream (an HTTP request or a TCP connection) that the connection
// manager or TCP proxy fills in and the access log formatter reads, as Envoy's StreamInfo. One is
// made per request, so it is a plain class whose fields all start in the constructor (one stable
// shape) and whose setters are field writes; formatting work happens only when a line is logged.
import type { MetadataStruct } from '../config/model.ts';
import type { FilterState } from '../filter-state/index.ts';
import { responseFlagBit } from './response-flags.ts';

/** Header values as Node gives them (lower-case names; set-cookie as an array). */
export type HeaderMap = Record<string, string | string[] | number | undefined>;

export class StreamInfo {
  /** Wall clock at the start (epoch ms): %START_TIME%. */
  startTime: number;
  /** Monotonic clock at the start (performance.now()), to measure durations against. */
  startMono: number;

  /** 'HTTP/1.0', 'HTTP/1.1', 'HTTP/2'; undefined for TCP. */
  protocol: string | undefined = undefined;
  method: string | undefined = undefined;
  /** The original :path, query included. */
  path: string | undefined = undefined;
  authority: string | undefined = undefined;
  scheme: string | undefined = undefined;
  requestHeaders: HeaderMap | undefined = undefined;
  responseHeaders: HeaderMap | undefined = undefined;
  responseTrailers: HeaderMap | undefined = undefined;

  /** 0 while no response was sent. */
  responseCode = 0;
  responseCodeDetails: string | undefined = undefined;
  connectionTerminationDetails: string | undefined = undefined;
  /** Bit set of response flags; use setResponseFlag. */
  responseFlags = 0;

  bytesReceived = 0;
  bytesSent = 0;
  /** Milliseconds from the start (fractions allowed; logs truncate as Envoy does). */
  requestDurationMs: number | undefined = undefined; // last byte of the request received
  responseDurationMs: number | undefined = undefined; // first byte of the response from upstream
  durationMs: number | undefined = undefined; // last byte sent downstream: the stream is done

  /** Addresses as 'ip:port' (IPv6 with or without brackets). */
  upstreamHost: string | undefined = undefined;
  /** The upstream host's metadata.filter_metadata (kept for internal hosts: a waypoint's original destination). */
  upstreamHostMetadata: Readonly<Record<string, unknown>> | undefined = undefined;
  upstreamCluster: string | undefined = undefined;
  upstreamLocalAddress: string | undefined = undefined;
  upstreamTransportFailureReason: string | undefined = undefined;
  downstreamRemoteAddress: string | undefined = undefined;
  downstreamDirectRemoteAddress: string | undefined = undefined;
  downstreamLocalAddress: string | undefined = undefined;

  requestedServerName: string | undefined = undefined;
  /** From the downstream TLS connection: 'TLSv1.3', the peer certificate's URI SANs (comma-joined) and subject. */
  downstreamTlsVersion: string | undefined = undefined;
  downstreamPeerUriSan: string | undefined = undefined;
  downstreamPeerSubject: string | undefined = undefined;
  /**
   * Where %DOWNSTREAM_LOCAL_URI_SAN% reads the local certificate's URI SANs: only when a format
   * asks, since node parses the whole certificate for them (~20% of the CPU of a new TLS connection).
   */
  downstreamLocalCertificate: { readonly localUriSans: readonly string[] } | undefined = undefined;
  routeName: string | undefined = undefined;
  connectionId = 0;
  /** Upstream attempts made (1 without retries). */
  attemptCount = 0;
  /** Set by the health check filter: the request was a health check. */
  healthCheck = false;
  /**
   * The filter state the stream sees: its own (whose parent is its connection's) once a filter set
   * something on the stream, else the connection's, else undefined (nothing allocated).
   */
  filterState: FilterState | undefined = undefined;
  /**
   * Envoy's dynamic metadata: a Struct per filter namespace that filters leave for the ones after
   * them and for %DYNAMIC_METADATA%; undefined until a filter sets some (nothing allocated).
   */
  dynamicMetadata: Record<string, MetadataStruct> | undefined = undefined;

  constructor(startTime = Date.now(), startMono = performance.now()) {
    this.startTime = startTime;
    this.startMono = startMono;
  }

  /** Sets an Envoy response flag by its short name ('UF', 'URX', ...); unknown names are ignored. */
  setResponseFlag(flag: string): void {
    this.responseFlags |= responseFlagBit(flag);
  }

  hasResponseFlag(flag: string): boolean {
    const bit = responseFlagBit(flag);
    return bit !== 0 && (this.responseFlags & bit) !== 0;
  }

  /** Milliseconds since the start. */
  elapsedMs(): number {
    return performance.now() - this.startMono;
  }
}
