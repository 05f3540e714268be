// A closed TLS connection's sockets drop their listeners.
//
// node frees a TLS socket's native half (TLSWrap) only when a full, mark-compact collection finds
// its JS object dead: node adds properties to that object, and V8's young collections keep every
// such object that native code refers to. Until the next full collection, whatever the closed
// TLSSocket and the TCP socket under it still reach survives every young collection and is
// copied: through their listeners, the connection's codec, streams and headers. Dropping the
// listeners once 'close' has run leaves node's own objects for the full collection and lets the
// rest die young. Under new TLS connections (bench's tls-newconn, one process) ~39% of the young
// generation survived each scavenge and pauses were ~24 ms; with this, ~17% and ~15 ms.
import type { Socket } from 'node:net';

/**
 * Once `secure` has closed, removes every listener from it and from `raw`, the TCP socket it was
 * wrapped on. Call when the TLSSocket is made.
 */
export function releaseOnClose(secure: Socket, raw: Socket): void {
  // After every 'close' listener and the raw socket's own close have run (node closes the raw
  // socket first and then the TLSSocket; an immediate comes after both).
  secure.on('close', () => setImmediate(release, secure, raw));
}

function release(secure: Socket, raw: Socket): void {
  quiet(secure);
  quiet(raw);
}

function quiet(socket: Socket): void {
  socket.removeAllListeners();
  // A late error on a destroyed socket is dropped by node; this keeps one from throwing.
  socket.on('error', ignore);
}

function ignore(): void {}
