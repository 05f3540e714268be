// The TLS inspector's ClientHello parser on real ClientHellos (sent by node:tls to a plain TCP
// server that records the first bytes), fed whole, byte by byte and split across records; and on
// what is not TLS or is too large.
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import t from 'tap';
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from '../../../proxy/listener/tls-inspector.ts';

/** The bytes a TLS client sends first (its ClientHello), captured by a server that never answers. */
async function capturedHello(options: tls.ConnectionOptions): Promise<Buffer> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = tls.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ...options });
  client.on('error', () => {});
  const [socket] = (await once(server, 'connection')) as [net.Socket];
  const chunks: Buffer[] = [];
  // The record header says how long the record is: read until it is all here.
  for (;;) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    chunks.push(chunk);
    const data = Buffer.concat(chunks);
    if (data.length >= 5 && data.length >= 5 + data.readUInt16BE(3)) break;
  }
  client.destroy();
  socket.destroy();
  server.close();
  return Buffer.concat(chunks);
}

const hello = await capturedHello({ servername: 'api.example.com', ALPNProtocols: ['h2', 'http/1.1'] });
const bare = await capturedHello({ ALPNProtocols: undefined }); // to an IP: node sends no SNI

t.test('a whole ClientHello gives its SNI and ALPN', async (t) => {
  t.same(parseClientHello(hello), { kind: 'tls', hello: { serverName: 'api.example.com', applicationProtocols: ['h2', 'http/1.1'] } });
  t.same(parseClientHello(bare), { kind: 'tls', hello: { serverName: '', applicationProtocols: [] } });
});

t.test('every proper prefix needs more', async (t) => {
  let wrong = 0;
  for (let n = 0; n < hello.length; n++) if (parseClientHello(hello.subarray(0, n)).kind !== 'need-more') wrong++;
  t.equal(wrong, 0);
});

t.test('a ClientHello split across two records', async (t) => {
  const body = hello.subarray(5);
  const cut = 7;
  const record = (payload: Buffer) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, payload.length >> 8, payload.length & 0xff]), payload]);
  const split = Buffer.concat([record(body.subarray(0, cut)), record(body.subarray(cut))]);
  t.match(parseClientHello(split), { kind: 'tls', hello: { serverName: 'api.example.com' } });
  t.equal(parseClientHello(split.subarray(0, 5 + cut + 3)).kind, 'need-more');
});

t.test('what is not TLS', async (t) => {
  t.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'not-tls');
  t.equal(parseClientHello(Buffer.from([0x16])).kind, 'need-more');
  t.equal(parseClientHello(Buffer.from([0x16, 0x01])).kind, 'not-tls', 'no TLS major version 3');
  const serverHello = Buffer.from(hello);
  serverHello[5] = 0x02;
  t.equal(parseClientHello(serverHello).kind, 'not-tls', 'a handshake that is not a ClientHello');
  const truncated = Buffer.from(hello);
  truncated.writeUIntBE(4, 6, 3); // a ClientHello body too short to hold its fields
  truncated.writeUInt16BE(8, 3);
  t.equal(parseClientHello(truncated.subarray(0, 13)).kind, 'not-tls', 'a malformed ClientHello');
});

t.test('a ClientHello over the limit is too large', async (t) => {
  const header = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0x11, 0x70]);
  t.equal(parseClientHello(header).kind, 'too-large', '70 000 bytes announced');
  t.equal(parseClientHello(hello, hello.length - 10).kind, 'too-large', 'a smaller limit');
  t.equal(MAX_CLIENT_HELLO_BYTES, 65536);
});
