// Mutual TLS between sidecars with SPIFFE identities, in namespaces this test creates on one
// closed L2 segment (a bridge in a "router" namespace; no route out of any of them):
//
//   a  10.240.0.2  app A (curl) -> A's sidecar 127.0.0.1:15001 -> cluster b-mtls: TLS to B's
//                  sidecar, client certificate spiffe://cluster.local/ns/default/sa/a, B's
//                  certificate must carry spiffe://cluster.local/ns/default/sa/b
//   b  10.240.0.3  B's sidecar 0.0.0.0:15443: TLS requiring a client certificate of the mesh CA
//                  with URI SAN .../sa/a; XFCC SANITIZE_SET (uri) -> app B on 127.0.0.1:8080
//   c  10.240.0.4  app C, the same as A but with identity .../sa/c: refused by B
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { FILE_LOG_TYPE, HCM_TYPE, ROUTER_TYPE } from '../support/bootstrap.ts';
import { waitForLines } from '../support/http.ts';
import { adminStats, createBridge, joinBridge, startLegate } from '../support/mesh.ts';
import { createNetns, netnsSkipReason } from '../support/netns.ts';
import { createTestCa, opensslMissing, type LeafCert } from '../support/test-ca.ts';

const ECHO = new URL('../support/echo-peer.ts', import.meta.url).pathname;
const DOWNSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const UPSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const SPIFFE = 'spiffe://cluster.local/ns/default/sa';
const ADMIN = { address: { socket_address: { address: '127.0.0.1', port_value: 15000 } } };

const skip = netnsSkipReason(['iptables', 'curl']) || opensslMissing();

function address(host: string, port: number): object {
  return { socket_address: { address: host, port_value: port } };
}

function cluster(name: string, host: string, port: number, extra: object = {}): object {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: address(host, port) } }] }] },
    ...extra,
  };
}

function hcm(statPrefix: string, clusterName: string, extra: object = {}): object {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': HCM_TYPE,
      stat_prefix: statPrefix,
      route_config: { name: statPrefix, virtual_hosts: [{ name: statPrefix, domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: clusterName } }] }] },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
      ...extra,
    },
  };
}

const certFiles = (leaf: LeafCert) => ({ certificate_chain: { filename: leaf.certFile }, private_key: { filename: leaf.keyFile } });

/** A client sidecar (A or C): plain HTTP on 127.0.0.1:15001 from its app, mTLS to B's sidecar. */
function clientSidecar(id: string, leaf: LeafCert, caFile: string, accessLog: string): object {
  return {
    node: { id },
    admin: ADMIN,
    static_resources: {
      listeners: [{
        name: 'outbound',
        address: address('127.0.0.1', 15001),
        filter_chains: [{
          filters: [hcm('outbound', 'b-mtls', {
            access_log: [{
              name: 'envoy.access_loggers.file',
              typed_config: { '@type': FILE_LOG_TYPE, path: accessLog, log_format: { text_format_source: { inline_string: '%RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_TRANSPORT_FAILURE_REASON%\n' } } },
            }],
          })],
        }],
      }],
      clusters: [cluster('b-mtls', '10.240.0.3', 15443, {
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: {
            '@type': UPSTREAM_TLS,
            sni: 'b.default.svc',
            common_tls_context: {
              tls_certificates: [certFiles(leaf)],
              validation_context: { trusted_ca: { filename: caFile }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: `${SPIFFE}/b` } }] },
            },
          },
        },
      })],
    },
  };
}

function serverSidecar(leaf: LeafCert, caFile: string): object {
  return {
    node: { id: 'b' },
    admin: ADMIN,
    static_resources: {
      listeners: [{
        name: 'inbound',
        address: address('0.0.0.0', 15443),
        filter_chains: [{
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type': DOWNSTREAM_TLS,
              require_client_certificate: true,
              common_tls_context: {
                tls_certificates: [certFiles(leaf)],
                validation_context: { trusted_ca: { filename: caFile }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: `${SPIFFE}/a` } }] },
              },
            },
          },
          filters: [hcm('inbound', 'app-b', { forward_client_cert_details: 'SANITIZE_SET', set_current_client_cert_details: { uri: true } })],
        }],
      }],
      clusters: [cluster('app-b', '127.0.0.1', 8080)],
    },
  };
}

interface Answer {
  status: number;
  body: string;
}

/** The app's request to its sidecar: curl inside the namespace, status on the last line. */
async function callSidecar(ns: import('../support/netns.ts').Netns): Promise<Answer> {
  const out = await ns.exec('curl', ['-sS', '--max-time', '15', '-w', '\n%{http_code}', '-H', 'x-forwarded-client-cert: By=forged;URI=spiffe://evil', 'http://127.0.0.1:15001/hello']);
  const at = out.lastIndexOf('\n');
  return { status: Number(out.slice(at + 1)), body: out.slice(0, at) };
}

t.test('sidecar to sidecar mTLS with SPIFFE identities', { skip, timeout: 120_000 }, async (t) => {
  const ca = createTestCa('Mesh CA');
  t.teardown(() => ca.remove());
  const logs = mkdtempSync(join(tmpdir(), 'legate-mtls-'));
  t.teardown(() => rmSync(logs, { recursive: true, force: true }));
  const certA = ca.issue('a', [`URI:${SPIFFE}/a`]);
  const certB = ca.issue('b', [`URI:${SPIFFE}/b`, 'DNS:b.default.svc']);
  const certC = ca.issue('c', [`URI:${SPIFFE}/c`]);
  const logA = join(logs, 'a.log');
  const logC = join(logs, 'c.log');

  const [router, a, b, c] = await Promise.all([createNetns(t), createNetns(t), createNetns(t), createNetns(t)]);
  await createBridge(router, '10.240.0.1/24');
  await Promise.all([
    joinBridge(router, a, 'v-a', '10.240.0.2/24'),
    joinBridge(router, b, 'v-b', '10.240.0.3/24'),
    joinBridge(router, c, 'v-c', '10.240.0.4/24'),
  ]);
  await Promise.all([
    startLegate(t, a, clientSidecar('a', certA, ca.certFile, logA), []),
    startLegate(t, b, serverSidecar(certB, ca.certFile), []),
    startLegate(t, c, clientSidecar('c', certC, ca.certFile, logC), []),
    b.start(ECHO, ['127.0.0.1', '8080']),
  ]);

  await t.test('A reaches B over mTLS, and B\'s app sees A\'s identity in XFCC', async (t) => {
    const answer = await callSidecar(a);
    t.equal(answer.status, 200, answer.body);
    const seen = JSON.parse(answer.body) as { headers: Record<string, string>; peer: string };
    t.equal(seen.peer, '127.0.0.1', 'B\'s sidecar delivered it');
    t.match(seen.headers['x-forwarded-client-cert'], new RegExp(`^By=${SPIFFE}/b;Hash=[0-9a-f]{64};URI=${SPIFFE}/a$`), 'SANITIZE_SET: the forged header replaced by A\'s URI');
    const [statsA, statsB] = await Promise.all([adminStats(a), adminStats(b)]);
    t.ok((statsA.get('cluster.b-mtls.ssl.handshake') ?? 0) >= 1, 'A\'s cluster shook hands');
    t.ok((statsB.get('listener.0.0.0.0_15443.ssl.handshake') ?? 0) >= 1, 'B\'s listener shook hands');
    t.equal(statsB.get('listener.0.0.0.0_15443.ssl.fail_verify_san') ?? 0, 0, 'nothing refused yet');
    t.match((await waitForLines(logA, 1))[0], /^200 - /);
  });

  await t.test('C, with another identity, is refused by B', async (t) => {
    const answer = await callSidecar(c);
    t.equal(answer.status, 503, answer.body);
    const statsB = await adminStats(b);
    t.ok((statsB.get('listener.0.0.0.0_15443.ssl.fail_verify_san') ?? 0) >= 1, 'B\'s listener counts ssl.fail_verify_san');
    const [line] = await waitForLines(logC, 1);
    t.match(line, /^503 UF /, `C's sidecar logs an upstream connection failure: ${line}`);
    // A is still served.
    t.equal((await callSidecar(a)).status, 200, 'A still gets through');
  });
});
