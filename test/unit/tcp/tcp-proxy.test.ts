// TcpProxyHandler with a cluster that does not exist (static configs cannot say that, CDS can):
// the connection is closed, counted in downstream_cx_no_route and logged with NC, as Envoy does.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Store } from '../../../proxy/stats/index.ts';
import { ClusterManager } from '../../../proxy/upstream/index.ts';
import { TcpProxyHandler } from '../../../proxy/tcp/index.ts';
import { waitForLines } from '../../support/http.ts';

t.test('an unknown cluster: closed, downstream_cx_no_route, NC', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'legate-tcp-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logPath = join(dir, 'access.log');
  const store = new Store();
  const handler = new TcpProxyHandler(
    {
      kind: 'tcp_proxy',
      bufferLimitBytes: 1048576,
      statPrefix: 'gone',
      cluster: { kind: 'cluster', name: 'removed_by_cds' },
      idleTimeoutMs: 0,
      maxConnectAttempts: 1,
      accessLog: [{ name: 'file', sink: { kind: 'file', path: logPath }, format: { kind: 'text', template: '%RESPONSE_FLAGS% %UPSTREAM_CLUSTER% %BYTES_RECEIVED%\n' } }],
    },
    { store, clusters: new ClusterManager(store, () => {}), log: () => {} },
  );
  const server = net.createServer((socket) =>
    handler.onConnection(socket, {
      destinationIp: socket.localAddress ?? '',
      destinationPort: socket.localPort ?? 0,
      sourceIp: socket.remoteAddress ?? '',
      sourcePort: socket.remotePort ?? 0,
      directSourceIp: socket.remoteAddress ?? '',
      serverName: '',
      transportProtocol: 'raw_buffer',
      applicationProtocols: [],
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const client = net.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  client.on('error', () => {});
  client.write('hello?');
  client.resume();
  await once(client, 'close');
  t.equal(store.counter('tcp.gone.downstream_cx_no_route').value, 1);
  t.equal(store.counter('tcp.gone.downstream_cx_total').value, 1);
  const [line] = await waitForLines(logPath, 1);
  t.equal(line, 'NC - 0');
});
