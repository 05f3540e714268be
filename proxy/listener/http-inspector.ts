// Envoy's http_inspector listener filter: on a plain-text connection, reads the first bytes to tell
// HTTP/1.0, HTTP/1.1 and HTTP/2 with prior knowledge (its preface) from other protocols, and sets
// the connection's application protocol ("http/1.0", "http/1.1", "h2c") for filter chain matching
// (Istio's inbound chains pick the HTTP connection manager or the TCP proxy by it). The bytes are
// put back. A TLS connection (the tls_inspector found one) is left alone.
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { Counter, Store } from '../stats/index.ts';
import type { ConnectionFacts } from './filter-chain.ts';
import { peekFirstBytes, type InspectOutcome } from './peek.ts';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
// Envoy reads at most this much looking for the request line.
const MAX_INSPECT = 64 * 1024;
// llhttp knows its methods: a first word that is none of them (or the start of one) is not HTTP.
// From _http_common, which the codec loads anyway; node:http would load its client and server too.
const METHODS: readonly string[] = (createRequire(import.meta.url)('_http_common') as { methods: string[] }).methods;

type Verdict = 'need-more' | 'http/1.0' | 'http/1.1' | 'h2c' | 'not-http';

/** What the first bytes of a plain-text connection say about its protocol. */
export function detectHttp(data: Buffer): Verdict {
  const prefaceBytes = Math.min(data.length, PREFACE.length);
  if (data.subarray(0, prefaceBytes).equals(PREFACE.subarray(0, prefaceBytes))) return data.length >= PREFACE.length ? 'h2c' : 'need-more';
  const end = data.indexOf('\r\n');
  const line = data.toString('latin1', 0, end === -1 ? Math.min(data.length, MAX_INSPECT) : end);
  const space = line.indexOf(' ');
  if (space === -1) {
    if (end !== -1) return 'not-http';
    return METHODS.some((m) => m.startsWith(line)) ? 'need-more' : 'not-http';
  }
  if (!METHODS.includes(line.slice(0, space))) return 'not-http';
  if (end === -1) return data.length >= MAX_INSPECT ? 'not-http' : 'need-more';
  const parts = line.split(' ');
  if (parts.length !== 3 || parts[1] === '') return 'not-http';
  if (parts[2] === 'HTTP/1.1') return 'http/1.1';
  if (parts[2] === 'HTTP/1.0') return 'http/1.0';
  return 'not-http';
}

interface InspectorStats {
  http10Found: Counter;
  http11Found: Counter;
  http2Found: Counter;
  httpNotFound: Counter;
  readError: Counter;
}

export class HttpInspector {
  private readonly stats: InspectorStats;

  constructor(store: Store) {
    const c = (name: string) => store.counter(`http_inspector.${name}`);
    this.stats = { http10Found: c('http10_found'), http11Found: c('http11_found'), http2Found: c('http2_found'), httpNotFound: c('http_not_found'), readError: c('read_error') };
  }

  /** As TlsInspector.inspect: reads, sets facts.applicationProtocols, puts the bytes back, calls done. */
  inspect(socket: Socket, facts: ConnectionFacts, done: (outcome: InspectOutcome) => void): () => void {
    if (facts.transportProtocol === 'tls') {
      done('continue');
      return () => undefined;
    }
    const stats = this.stats;
    const judge = (bytes: Buffer) => {
      const verdict = detectHttp(bytes);
      if (verdict === 'need-more') return 'need-more';
      if (verdict === 'not-http') stats.httpNotFound.inc();
      else {
        (verdict === 'h2c' ? stats.http2Found : verdict === 'http/1.1' ? stats.http11Found : stats.http10Found).inc();
        facts.applicationProtocols = [verdict];
      }
      return 'continue';
    };
    return peekFirstBytes(socket, judge, done, () => stats.readError.inc());
  }
}
