// The fuzzers' upstream: a raw TCP server that parses what Legate sends with the strict parser,
// records every complete request (which downstream connection it came from, by the x-fuzz-conn
// header Legate adds; its path) and every framing fault, and answers each request 200 naming it
// (x-fuzz-seq) so the client can match responses to what the upstream saw.
import net, { type AddressInfo } from 'node:net';
import { header, StrictParseError, StrictParser, type Message } from './strict-parser.ts';

export interface UpstreamRequest {
  seq: number;
  /** performance.now() when it was complete. */
  at: number;
  /** The downstream connection's source port (x-fuzz-conn), '' when the header is missing. */
  conn: string;
  method: string;
  path: string;
  message: Message;
}

export interface FramingFault {
  error: string;
  /** The start of what this upstream connection received, in hex. */
  rawHex: string;
}

export interface RecordingUpstream {
  port: number;
  requests: UpstreamRequest[];
  faults: FramingFault[];
  /** Requests recorded for one downstream connection, in arrival order. */
  requestsOf(conn: string): UpstreamRequest[];
  /** Forgets what was recorded. */
  clear(): void;
  close(): Promise<void>;
}

const RAW_KEEP = 16 * 1024;

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  let requests: UpstreamRequest[] = [];
  let faults: FramingFault[] = [];
  let byConn = new Map<string, UpstreamRequest[]>();
  let seq = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const parser = new StrictParser('request');
    let raw: Buffer[] = [];
    let rawLength = 0;
    socket.on('data', (chunk: Buffer) => {
      if (rawLength < RAW_KEEP) {
        raw.push(chunk);
        rawLength += chunk.length;
      }
      let messages: Message[];
      try {
        messages = parser.feed(chunk);
      } catch (err) {
        if (!(err instanceof StrictParseError)) throw err;
        faults.push({ error: err.message, rawHex: Buffer.concat(raw).subarray(0, RAW_KEEP).toString('hex') });
        socket.destroy();
        return;
      }
      for (const message of messages) {
        const request: UpstreamRequest = {
          seq: ++seq,
          at: performance.now(),
          conn: header(message.head, 'x-fuzz-conn')[0] ?? '',
          method: message.head.startLine[0],
          path: message.head.startLine[1],
          message,
        };
        requests.push(request);
        const list = byConn.get(request.conn) ?? [];
        list.push(request);
        byConn.set(request.conn, list);
        // A response to HEAD has no body; x-fuzz-head tells the client's parser so.
        const tail = request.method === 'HEAD' ? 'x-fuzz-head: 1\r\n\r\n' : '\r\nok';
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-fuzz-upstream: 1\r\nx-fuzz-seq: ${request.seq}\r\n${tail}`);
      }
      // Keep only what an unfinished message needs for a report.
      if (!parser.inMessage) {
        raw = [];
        rawLength = 0;
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get requests() {
      return requests;
    },
    get faults() {
      return faults;
    },
    requestsOf: (conn) => byConn.get(conn) ?? [],
    clear: () => {
      requests = [];
      faults = [];
      byConn = new Map();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
