// One fuzz connection: writes an input (in pieces at the given offsets) and reads the responses
// with the strict parser until Legate closes the connection or nothing came for a quiet period.
import net from 'node:net';
import { header, StrictParseError, StrictParser } from '../strict-parser.ts';

export interface Response {
  status: number;
  /** Relayed from the upstream (it carries x-fuzz-seq), not a local reply. */
  seq: number | undefined;
  close: boolean;
}

export interface Exchange {
  /** The connection's source port: the x-fuzz-conn value its forwarded requests carry. */
  localPort: number;
  responses: Response[];
  /** Response bytes the strict parser refused, and why. */
  responseFault: string | undefined;
  /** Bytes that came after a response saying connection: close. */
  afterClose: boolean;
  closedByPeer: boolean;
  connectError: string | undefined;
  /** performance.now() when the exchange ended. */
  endedAt: number;
}

export interface ExchangeTiming {
  /** How long nothing may arrive before the exchange is over. */
  quietMs: number;
  /** The longest an exchange may last. */
  deadlineMs: number;
}

/**
 * `expected`: how many responses the input must get at least. `forwarded(port)` says how many requests of the connection from `port` the upstream has
 * received: while more than the 2xx responses relayed, the exchange waits on (up to the deadline)
 * rather than calling a slow relay a lost one.
 */
export function exchange(port: number, input: Buffer, splits: readonly number[], timing: ExchangeTiming, forwarded: (localPort: number) => number, expected = 0): Promise<Exchange> {
  return new Promise((resolve) => {
    const result: Exchange = { localPort: 0, responses: [], responseFault: undefined, afterClose: false, closedByPeer: false, connectError: undefined, endedAt: 0 };
    const parser = new StrictParser('response', (head) => header(head, 'x-fuzz-head').length > 0);
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    let quiet: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(quiet);
      clearTimeout(deadline);
      socket.destroy();
      result.endedAt = performance.now();
      resolve(result);
    };
    const deadline = setTimeout(finish, timing.deadlineMs);
    const relayed = () => result.responses.filter((r) => r.seq !== undefined).length;
    const rearm = () => {
      clearTimeout(quiet);
      // Also waits for the responses the input is known to get (`expected`), however loaded the machine.
      quiet = setTimeout(() => (forwarded(result.localPort) > relayed() || result.responses.length < expected ? rearm() : finish()), timing.quietMs);
    };
    socket.once('connect', async () => {
      result.localPort = socket.localPort ?? 0;
      let at = 0;
      for (const offset of [...splits, input.length]) {
        if (finished || socket.destroyed) return;
        const piece = input.subarray(at, offset);
        at = offset;
        // One write per piece, each after the previous one left, so Legate reads them apart.
        await new Promise<void>((done) => socket.write(piece, () => done()));
        await new Promise((done) => setImmediate(done));
      }
      rearm();
    });
    socket.on('data', (chunk: Buffer) => {
      rearm();
      if (result.responseFault !== undefined) return;
      if (result.responses.at(-1)?.close === true) result.afterClose = true;
      try {
        for (const m of parser.feed(chunk)) {
          const seq = header(m.head, 'x-fuzz-seq')[0];
          const connection = header(m.head, 'connection').join(',').toLowerCase();
          if (result.responses.at(-1)?.close === true) result.afterClose = true;
          result.responses.push({ status: Number(m.head.startLine[1]), seq: seq === undefined ? undefined : Number(seq), close: connection.split(',').some((t) => t.trim() === 'close') });
        }
      } catch (err) {
        if (!(err instanceof StrictParseError)) throw err;
        result.responseFault = `${err.message} (after ${result.responses.length} responses)`;
      }
    });
    socket.on('end', () => {
      result.closedByPeer = true;
      const last = parser.end();
      if (last !== null) result.responses.push({ status: Number(last.head.startLine[1]), seq: undefined, close: true });
      finish();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (result.localPort === 0) result.connectError = err.message;
      // A reset after our bytes is an answer too (Legate may close with unread input).
      result.closedByPeer = true;
      finish();
    });
    socket.on('close', finish);
  });
}
