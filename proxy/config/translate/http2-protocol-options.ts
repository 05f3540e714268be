// envoy.config.core.v3.Http2ProtocolOptions -> Http2Options, with Envoy's defaults and its proto
// validation ranges. The flood limits (max_outbound_frames, ...) are Envoy's own counters; node's
// nghttp2 enforces its own flood protection instead, so the support table warns that they are ignored.
import { joinPath } from '../errors.ts';
import type { Http2Options } from '../model.ts';
import { bool, ms, num, obj, reject } from './common.ts';
import type { Raw } from './common.ts';

const MAX_INT32 = 2147483647;

function ranged(raw: Raw, key: string, fallback: number, min: number, max: number, path: string): number {
  const value = num(raw, key, fallback);
  if (value < min || value > max) reject(joinPath(path, key), `${value} is out of range`, `use ${min}..${max} (Envoy's limits)`);
  return value;
}

export function translateHttp2ProtocolOptions(raw: Raw | undefined, path: string): Http2Options {
  const r = raw ?? {};
  const options: Http2Options = {
    hpackTableSize: ranged(r, 'hpack_table_size', 4096, 0, 2 ** 32 - 1, path),
    maxConcurrentStreams: ranged(r, 'max_concurrent_streams', MAX_INT32, 1, MAX_INT32, path),
    initialStreamWindowSize: ranged(r, 'initial_stream_window_size', 268435456, 65535, MAX_INT32, path),
    initialConnectionWindowSize: ranged(r, 'initial_connection_window_size', 268435456, 65535, MAX_INT32, path),
    allowConnect: bool(r, 'allow_connect', false),
  };
  const keepalive = obj(r, 'connection_keepalive');
  if (keepalive !== undefined) {
    const kpath = joinPath(path, 'connection_keepalive');
    const timeoutMs = ms(keepalive, 'timeout', 0);
    if (timeoutMs <= 0) reject(joinPath(kpath, 'timeout'), 'required field is missing', 'set how long to wait for a PING ACK');
    options.keepalive = { intervalMs: ms(keepalive, 'interval', 0), timeoutMs };
  }
  return options;
}
