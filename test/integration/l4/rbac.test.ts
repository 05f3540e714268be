// envoy.filters.network.rbac in front of tcp_proxy through a real Legate: a DENY policy by the
// client's address closes a connection from 127.0.0.2 before it reaches the upstream while one
// from 127.0.0.1 is proxied; on a TLS chain, an ALLOW policy by SNI lets ok.example through and
// closes bad.example's connection after the handshake. Counters under <stat_prefix>.rbac.
import net from 'node:net';
import tls from 'node:tls';
import t from 'tap';
import { bootstrap, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { certFiles, downstreamTls, TLS_INSPECTOR } from '../tls/support.ts';
import { startEchoServer, tcpProxyFilter } from './support.ts';

const NETWORK_RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';
const networkRbac = (config: object) => ({ name: 'envoy.filters.network.rbac', typed_config: { '@type': NETWORK_RBAC_TYPE, ...config } });
const any = [{ any: true }];

/** Writes 'ping' on a connected socket and resolves with what came back before the close (bounded). */
function pingUntilClosed(socket: net.Socket, connected: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within 5 s; received '${received}'`));
    }, 5000);
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      received += d.toString();
      if (received === 'ping') socket.end(); // echoed: we are done
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.once(connected, () => socket.write('ping'));
  });
}

t.test('network RBAC: DENY by the client address', async (t) => {
  const echo = await startEchoServer();
  t.teardown(() => echo.close());
  const legate = await startLegate(bootstrap(
    [{
      name: 'ip',
      address: socketAddress('127.0.0.1', 0),
      filter_chains: [{
        filters: [
          networkRbac({
            stat_prefix: 'tcp_rbac',
            rules: { action: 'DENY', policies: { 'block-127.0.0.2': { permissions: any, principals: [{ direct_remote_ip: { address_prefix: '127.0.0.2', prefix_len: 32 } }] } } },
            shadow_rules: { action: 'ALLOW', policies: { 'only-8': { permissions: [{ destination_port: 8 }], principals: any } } },
          }),
          tcpProxyFilter('ip', 'echo'),
        ],
      }],
    }],
    [staticCluster('echo', [{ port: echo.port }])],
  ));
  t.teardown(() => legate.stop());
  const port = legate.port('ip');

  t.equal(await pingUntilClosed(net.connect({ host: '127.0.0.1', port }), 'connect'), 'ping', 'a client from 127.0.0.1 is proxied');
  t.equal(await pingUntilClosed(net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' }), 'connect'), '', 'a client from 127.0.0.2 is closed');
  t.equal(echo.accepted.length, 1, 'the denied connection never reached the upstream');
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('tcp_rbac.rbac.allowed'), 1);
  t.equal(stats.get('tcp_rbac.rbac.denied'), 1);
  t.equal(stats.get('tcp_rbac.rbac.shadow_denied'), 2, 'shadow rules counted, never enforced');
});

t.test('network RBAC: ALLOW by SNI on a TLS chain', { skip: opensslMissing() }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const server = ca.issue('proxy.test', ['DNS:ok.example', 'DNS:bad.example']);
  const echo = await startEchoServer();
  t.teardown(() => echo.close());
  const legate = await startLegate(bootstrap(
    [{
      name: 'sni',
      address: socketAddress('127.0.0.1', 0),
      listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TLS_INSPECTOR } }],
      filter_chains: [{
        transport_socket: downstreamTls({ tls_certificates: [certFiles(server)] }),
        filters: [
          networkRbac({ stat_prefix: 'tcp.', rules: { action: 'ALLOW', policies: { 'ok-only': { permissions: [{ requested_server_name: { exact: 'ok.example' } }], principals: any } } } }),
          tcpProxyFilter('sni', 'echo'),
        ],
      }],
    }],
    [staticCluster('echo', [{ port: echo.port }])],
  ));
  t.teardown(() => legate.stop());
  const connect = (servername: string) => tls.connect({ host: '127.0.0.1', port: legate.port('sni'), servername, ca: ca.cert });

  t.equal(await pingUntilClosed(connect('ok.example'), 'secureConnect'), 'ping', 'ok.example is proxied');
  t.equal(await pingUntilClosed(connect('bad.example'), 'secureConnect'), '', 'bad.example is closed after the handshake');
  t.equal(echo.accepted.length, 1);
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('tcp.rbac.allowed'), 1);
  t.equal(stats.get('tcp.rbac.denied'), 1);
});
