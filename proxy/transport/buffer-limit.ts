// Envoy's per_connection_buffer_limit_bytes as a socket's write watermark: write() answers false
// once this much is buffered, which is where Legate's codecs and relays stop reading the other
// side (and 'drain' where they read on). Node takes a watermark only at construction, and these
// sockets are made by net.Server, node:tls and node:http2, so the limit is set on the stream's
// writable state afterwards.
interface WithWritableState {
  _writableState?: { highWaterMark?: number };
}

export function setWriteBufferLimit(stream: object, bytes: number): void {
  const state = (stream as WithWritableState)._writableState;
  if (bytes > 0 && state !== undefined && typeof state.highWaterMark === 'number') state.highWaterMark = bytes;
}
