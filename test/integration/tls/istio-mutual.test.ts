// Istio's ISTIO_MUTUAL shape between two Legate sidecars, each with its own SDS server on a Unix
// socket, the pipe endpoint of a cluster named sds-grpc (the SecretDiscoveryService pilot-agent
// serves): the workload
// certificate is secret 'default', the mesh root secret 'ROOTCA', and both TLS contexts check the
// peer with combined_validation_context (SAN matchers in default_validation_context, the CA over
// SDS). The client sidecar's cluster picks mTLS by transport_socket_matches on tlsMode: istio.
//
//   client --HTTP--> client sidecar 'outbound' --mTLS (spiffe .../sa/client)--> server sidecar
//   'inbound' (requires a client certificate of the mesh, XFCC SANITIZE_SET) --HTTP--> app
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { socketAddress } from '../../support/bootstrap.ts';
import { nodeRequest, statsMap, waitFor } from '../../support/http.ts';
import { startLegate, type RunningLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing, type LeafCert } from '../../support/test-ca.ts';
import { echoHandler, startUpstream } from '../../support/upstream.ts';
import { XdsServer } from '../../support/xds-server.ts';
import { downstreamTls, hcmToCluster as hcm, httpsGet, TLS_INSPECTOR, upstreamTls } from './support.ts';

const skip = opensslMissing();
const SECRET_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
const HTTP_OPTIONS = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const SPIFFE = 'spiffe://cluster.local/ns/default/sa';

// sds_config as istiod writes it for every secret: the sds-grpc cluster, no initial fetch timeout.
const SDS_CONFIG = {
  api_config_source: {
    api_type: 'GRPC',
    set_node_on_first_message_only: true,
    transport_api_version: 'V3',
    grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }],
  },
  initial_fetch_timeout: '0s',
  resource_api_version: 'V3',
};

function istioCommonTls(alpn: string[], sanMatchers: object[]) {
  return {
    tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
    alpn_protocols: alpn,
    tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: SDS_CONFIG }],
    combined_validation_context: {
      default_validation_context: { match_subject_alt_names: sanMatchers },
      validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: SDS_CONFIG },
    },
  };
}

// As pilot-agent's bootstrap has it: the SDS server on a Unix socket.
function sdsGrpcCluster(socketPath: string) {
  return {
    name: 'sds-grpc',
    type: 'STATIC',
    connect_timeout: '1s',
    typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': HTTP_OPTIONS, explicit_http_config: { http2_protocol_options: {} } } },
    load_assignment: { cluster_name: 'sds-grpc', endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: socketPath } } } }] }] },
  };
}

function workloadSecrets(leaf: LeafCert, caPem: string) {
  return [
    { '@type': SECRET_TYPE_URL, name: 'default', tls_certificate: { certificate_chain: { inline_bytes: Buffer.from(leaf.cert).toString('base64') }, private_key: { inline_bytes: Buffer.from(leaf.key).toString('base64') } } },
    { '@type': SECRET_TYPE_URL, name: 'ROOTCA', validation_context: { trusted_ca: { inline_bytes: Buffer.from(caPem).toString('base64') } } },
  ];
}


// A cluster of the client sidecar to the server sidecar, expecting `identity` of it.
function outboundCluster(name: string, port: number, identity: string) {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    transport_socket_matches: [
      {
        name: 'tlsMode-istio',
        match: { tlsMode: 'istio' },
        transport_socket: upstreamTls(istioCommonTls(['istio-peer-exchange', 'istio'], [{ exact: identity }]), { sni: 'outbound_.80_._.server.default.svc.cluster.local' }),
      },
      { name: 'tlsMode-disabled', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer' } },
    ],
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{
        endpoint: { address: socketAddress('127.0.0.1', port) },
        metadata: { filter_metadata: { 'envoy.transport_socket_match': { tlsMode: 'istio' } } },
      }] }],
    },
  };
}

async function startSds(t: Test, secrets?: object[]): Promise<XdsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'legate-sds-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const server = new XdsServer({ service: 'sds', unixPath: join(dir, 'socket') });
  await server.start();
  t.teardown(() => server.stop());
  if (secrets !== undefined) server.setResources(SECRET_TYPE_URL, 'v1', secrets as never);
  return server;
}

const boundPort = (legate: RunningLegate, name: string) => () => {
  try {
    return legate.port(name);
  } catch {
    return undefined;
  }
};

t.test('ISTIO_MUTUAL between two sidecars, secrets from their sds-grpc servers', { skip }, async (t) => {
  const ca = createTestCa('cluster.local');
  t.teardown(() => ca.remove());
  const otherCa = createTestCa('not the mesh');
  t.teardown(() => otherCa.remove());
  const serverCert = ca.issue('server', [`URI:${SPIFFE}/server`]);
  const clientCert = ca.issue('client', [`URI:${SPIFFE}/client`]);
  const strangerCert = otherCa.issue('stranger', [`URI:${SPIFFE}/client`]);
  const app = await startUpstream('app', echoHandler('app'));
  t.teardown(() => app.close());

  // The server sidecar: its listener warms until both secrets arrived from its SDS server.
  const serverSds = await startSds(t);
  const serverLogs: string[] = [];
  const serverSidecar = await startLegate({
    node: { id: 'sidecar~127.0.0.1~server.default~default.svc.cluster.local', cluster: 'server.default' },
    admin: { address: socketAddress('127.0.0.1', 0) },
    static_resources: {
      clusters: [sdsGrpcCluster(serverSds.unixPath!), { name: 'inbound|8080||', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'inbound|8080||', endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress('127.0.0.1', app.port) } }] }] } }],
      listeners: [{
        name: 'inbound',
        address: socketAddress('127.0.0.1', 0),
        listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TLS_INSPECTOR } }],
        filter_chains: [{
          filter_chain_match: { transport_protocol: 'tls', application_protocols: ['istio-peer-exchange', 'istio'] },
          transport_socket: downstreamTls(istioCommonTls(['http/1.1'], [{ prefix: 'spiffe://cluster.local/' }]), { require_client_certificate: true }),
          filters: [hcm('inbound_0.0.0.0_8080', 'inbound|8080||', { forward_client_cert_details: 'SANITIZE_SET', set_current_client_cert_details: { uri: true } })],
        }],
      }],
    },
  }, { log: (line) => serverLogs.push(line) });
  t.teardown(() => serverSidecar.stop());

  const subscribed = await serverSds.waitForRequest((r) => r.request.type_url === SECRET_TYPE_URL && ((r.request.resource_names as string[] | undefined) ?? []).length === 2);
  t.same([...(subscribed.request.resource_names as string[])].sort(), ['ROOTCA', 'default'], 'subscribed to exactly the two secrets, by name');
  t.equal((subscribed.request.node as { id?: string } | undefined)?.id, 'sidecar~127.0.0.1~server.default~default.svc.cluster.local', 'the node goes in the first request');
  t.equal(boundPort(serverSidecar, 'inbound')(), undefined, 'the listener warms while its secrets have not arrived');
  t.ok(serverLogs.some((l) => l.includes("listener 'inbound' warms: waiting for secret") && l.includes("SDS server cluster 'sds-grpc'")), 'the warming is logged with its source');

  serverSds.setResources(SECRET_TYPE_URL, 'v1', workloadSecrets(serverCert, ca.cert) as never);
  const inboundPort = await waitFor('the inbound listener bound', boundPort(serverSidecar, 'inbound'), 10_000);
  const ack = await serverSds.waitForRequest((r) => r.request.type_url === SECRET_TYPE_URL && r.request.version_info === 'v1');
  t.notOk(ack.request.error_detail, 'the secrets were ACKed');

  // The client sidecar.
  const clientSds = await startSds(t, workloadSecrets(clientCert, ca.cert));
  const clientSidecar = await startLegate({
    node: { id: 'sidecar~127.0.0.1~client.default~default.svc.cluster.local', cluster: 'client.default' },
    admin: { address: socketAddress('127.0.0.1', 0) },
    static_resources: {
      clusters: [
        sdsGrpcCluster(clientSds.unixPath!),
        outboundCluster('outbound|80||server.default.svc.cluster.local', inboundPort, `${SPIFFE}/server`),
        outboundCluster('outbound|80||impostor.default.svc.cluster.local', inboundPort, `${SPIFFE}/impostor`),
      ],
      listeners: [
        { name: 'outbound', address: socketAddress('127.0.0.1', 0), filter_chains: [{ filters: [hcm('outbound', 'outbound|80||server.default.svc.cluster.local')] }] },
        { name: 'impostor', address: socketAddress('127.0.0.1', 0), filter_chains: [{ filters: [hcm('impostor', 'outbound|80||impostor.default.svc.cluster.local')] }] },
      ],
    },
  });
  t.teardown(() => clientSidecar.stop());

  const reply = await waitFor('the outbound path serves', async () => {
    const r = await nodeRequest(clientSidecar.url('/hello', 'outbound')).catch(() => undefined);
    return r?.status === 200 ? r : undefined;
  }, 10_000);
  const echo = JSON.parse(reply.body) as { upstream: string; headers: Record<string, string> };
  // The client offers ALPN istio-peer-exchange and istio, the server chain http/1.1 only: as in
  // Envoy, the handshake goes on without ALPN rather than failing.
  t.equal(echo.upstream, 'app', 'the request crossed both sidecars');
  t.match(echo.headers['x-forwarded-client-cert'], new RegExp(`URI=${SPIFFE}/client`), 'the server sidecar saw the client identity (XFCC)');

  const clientStats = await statsMap(clientSidecar.adminUrl(''));
  t.ok((clientStats.get('cluster.outbound|80||server.default.svc.cluster.local.ssl.handshake') ?? 0) >= 1, 'the client sidecar spoke TLS to the server sidecar');
  t.equal(clientStats.get('sds.default.update_success'), 1);
  t.equal(clientStats.get('sds.ROOTCA.update_success'), 1);

  // The default validation context's SAN matcher still applies: the server is not the impostor.
  const refused = await nodeRequest(clientSidecar.url('/', 'impostor'));
  t.equal(refused.status, 503, 'a server without the expected identity is refused');
  const after = await statsMap(clientSidecar.adminUrl(''));
  t.ok((after.get('cluster.outbound|80||impostor.default.svc.cluster.local.ssl.fail_verify_san') ?? 0) >= 1, 'counted as fail_verify_san');

  // The inbound side requires a certificate of the mesh CA (the ROOTCA secret).
  await t.rejects(httpsGet(inboundPort, '/', { ca: ca.cert, cert: strangerCert.cert, key: strangerCert.key }), 'a certificate of another CA is refused');
  await t.rejects(httpsGet(inboundPort, '/', { ca: ca.cert }), 'no client certificate is refused');

  // A bad secret is NACKed with the field in the reason (never the key), and the last good one stays.
  const before = clientSds.requests.length;
  clientSds.setResources(SECRET_TYPE_URL, 'v2', [{ ...workloadSecrets(clientCert, ca.cert)[0], tls_certificate: { certificate_chain: { inline_string: clientCert.cert }, private_key: { inline_string: serverCert.key } } }, workloadSecrets(clientCert, ca.cert)[1]] as never);
  const nack = await clientSds.waitForRequest((r) => r.request.type_url === SECRET_TYPE_URL && r.request.error_detail != null, { after: before });
  t.equal(nack.request.version_info, 'v1', 'the NACK names the last good version');
  t.match(JSON.stringify(nack.request.error_detail), /does not match the certificate/);
  t.notMatch(JSON.stringify(nack.request.error_detail), /PRIVATE KEY/, 'no key text in the NACK');
  const still = await nodeRequest(clientSidecar.url('/again', 'outbound'));
  t.equal(still.status, 200, 'the last good secrets keep serving');
});

t.test('combined_validation_context: config errors', { skip }, async (t) => {
  const { translateCluster } = await import('../../../proxy/config/index.ts');
  const base = (common: object) => ({ name: 'c', type: 'STATIC', connect_timeout: '1s', transport_socket: upstreamTls(common), load_assignment: { cluster_name: 'c', endpoints: [] } });
  t.throws(() => translateCluster(base({ combined_validation_context: { default_validation_context: {} } })),
    /combined_validation_context\.validation_context_sds_secret_config: required field is missing/);
  t.throws(() => translateCluster(base({ validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { api_config_source: { api_type: 'REST', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }] } } } })),
    /not supported by Legate: api_type REST for SDS/);
  const translated = translateCluster(base({ combined_validation_context: { default_validation_context: { match_subject_alt_names: [{ exact: `${SPIFFE}/x` }] }, validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: SDS_CONFIG } } }));
  t.same(translated.cluster.tls?.sds?.validation, { name: 'ROOTCA', server: { apiType: 'GRPC', grpcService: { clusterName: 'sds-grpc', timeoutMs: 0, initialMetadata: [] } } });
  t.equal(translated.cluster.tls?.sds?.combined, true);
  t.equal(translated.cluster.tls?.validation?.sanMatchers.length, 1, 'the default part waits for its CA');
});
