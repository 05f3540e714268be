// A gRPC call as an HTTP/1.1 request (node:http): POST, content-type application/grpc, one
// length-prefixed message; the answer's headers, body and trailers. For gRPC semantics (local
// replies, retries, grpc-timeout) until HTTP/2 clients can reach Legate.
import http from 'node:http';

export interface GrpcReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  trailers: NodeJS.Dict<string>;
  /** Milliseconds from the request to the end of the answer. */
  ms: number;
}

const MESSAGE = Buffer.from([0, 0, 0, 0, 0]); // an empty message, uncompressed

export function grpcCall(url: string, headers: http.OutgoingHttpHeaders = {}, timeoutMs = 5000): Promise<GrpcReply> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, method: 'POST', timeout: timeoutMs, headers: { 'content-type': 'application/grpc', te: 'trailers', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), trailers: res.trailers, ms: performance.now() - start }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(MESSAGE);
  });
}
