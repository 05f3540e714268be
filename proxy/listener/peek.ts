// How the inspecting listener filters (tls_inspector, http_inspector) read a connection's first
// bytes: every chunk so far goes to a judge until it has seen enough; the bytes are then put back
// for whoever reads the connection next (the next inspector, TLS, or the chain's filter).
import type { Socket } from 'node:net';

/** What an inspection reports: go on to filter chain matching, or the connection is gone. */
export type InspectOutcome = 'continue' | 'closed';

/** The judge's word on the bytes so far: wait for more, go on, or close the connection. */
export type PeekVerdict = 'need-more' | 'continue' | 'close';

/**
 * Reads until `judge` decides, then puts the bytes back and calls done. A peer that ends or
 * closes first is destroyed (`onPeerGone` counts it). Returns a function that stops early (the
 * listener filter timeout): the bytes read so far are put back and done is not called.
 */
export function peekFirstBytes(socket: Socket, judge: (bytes: Buffer) => PeekVerdict, done: (outcome: InspectOutcome) => void, onPeerGone: () => void): () => void {
  let buffered: Buffer = Buffer.alloc(0);
  const stop = () => {
    socket.off('data', onData);
    socket.off('end', onGone);
    socket.off('close', onGone);
    socket.pause();
    if (buffered.length > 0) socket.unshift(buffered);
  };
  const onGone = () => {
    stop();
    onPeerGone();
    socket.destroy();
    done('closed');
  };
  const onData = (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const verdict = judge(buffered);
    if (verdict === 'need-more') return;
    stop();
    if (verdict === 'close') {
      socket.destroy();
      done('closed');
    } else done('continue');
  };
  socket.on('error', () => {}); // followed by 'close'
  socket.on('data', onData);
  socket.once('end', onGone);
  socket.once('close', onGone);
  // An inspector before this one paused the socket and put its bytes back: read them again.
  socket.resume();
  return stop;
}
