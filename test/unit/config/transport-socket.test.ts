// transport_socket on filter chains and clusters: what is accepted becomes the model's TLS
// context (files read, PEM checked by building node's SecureContext); what is wrong or not built
// is one ConfigError naming the field, and a private key never appears in a message.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError, translateBootstrap, translateCluster, translateListener } from '../../../proxy/config/index.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';

const skip = opensslMissing();
const DOWNSTREAM = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const UPSTREAM = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const TCP = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

function listenerWith(chain: object) {
  return {
    name: 'l',
    address: { socket_address: { address: '127.0.0.1', port_value: 8443 } },
    filter_chains: [{ filters: [{ name: 'tcp', typed_config: { '@type': TCP, stat_prefix: 'tcp', cluster: 'c' } }], ...chain }],
  };
}

function clusterWith(extra: object) {
  return { name: 'c', type: 'STATIC', connect_timeout: '1s', ...extra };
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return 'no error';
}

t.test('transport sockets', { skip }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const leaf = ca.issue('server.test', ['DNS:server.test']);
  const other = ca.issue('other.test', ['DNS:other.test']);
  const certs = (key = leaf.keyFile, cert = leaf.certFile) => [{ certificate_chain: { filename: cert }, private_key: { filename: key } }];
  const downstream = (common: object, extra: object = {}) => ({
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': DOWNSTREAM, common_tls_context: common, ...extra } },
  });
  const at = 'filter_chains[0].transport_socket.typed_config';

  t.test('a downstream context becomes the chain\'s TLS', async (t) => {
    const { listener } = translateListener(listenerWith(downstream({
      tls_certificates: certs(),
      tls_params: { tls_minimum_protocol_version: 'TLSv1_3', cipher_suites: ['[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]'], ecdh_curves: ['X25519', 'P-256'] },
      alpn_protocols: ['http/1.1'],
      validation_context: {
        trusted_ca: { filename: ca.certFile },
        match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/' } }],
        match_subject_alt_names: [{ exact: 'client.test' }],
      },
    }, { require_client_certificate: true })));
    const tls = listener.filterChains[0].tls!;
    t.equal(tls.requireClientCertificate, true);
    t.equal(tls.minVersion, 'TLSv1.3');
    t.equal(tls.maxVersion, 'TLSv1.3', 'downstream maximum defaults to TLS 1.3');
    t.same(tls.cipherSuites, ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305'], 'an equal-preference group in written order');
    t.same(tls.ecdhCurves, ['X25519', 'P-256']);
    t.equal(tls.certificates[0].source, leaf.certFile);
    t.equal(tls.certificates[0].privateKey, leaf.key);
    t.same(tls.validation!.sanMatchers.map((m) => m.sanTypes), [['URI'], ['DNS', 'URI', 'IP_ADDRESS', 'EMAIL']]);
  });

  t.test('h2 is left out of the ALPN offer of an HTTP1 chain and a cluster, with a warning', async (t) => {
    const hcmChain = {
      filters: [{ name: 'hcm', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', stat_prefix: 'h', codec_type: 'HTTP1',
        route_config: { virtual_hosts: [{ name: 'a', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200 } }] }] },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }] } }],
      ...downstream({ tls_certificates: certs(), alpn_protocols: ['h2', 'http/1.1'] }),
    };
    const { listener, warnings } = translateListener({ name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 8443 } }, filter_chains: [hcmChain] });
    t.same(listener.filterChains[0].tls!.alpnProtocols, ['http/1.1']);
    t.match(warnings.join('\n'), /alpn_protocols: 'h2' is not offered/);
    const autoChain = { ...hcmChain, filters: [{ ...hcmChain.filters[0], typed_config: { ...hcmChain.filters[0].typed_config, codec_type: 'AUTO' } }] };
    const auto = translateListener({ name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 8443 } }, filter_chains: [autoChain] });
    t.same(auto.listener.filterChains[0].tls!.alpnProtocols, ['h2', 'http/1.1'], 'an AUTO chain serves h2 and keeps its offer');
    const tcp = translateListener(listenerWith(downstream({ tls_certificates: certs(), alpn_protocols: ['h2'] })));
    t.same(tcp.listener.filterChains[0].tls!.alpnProtocols, ['h2'], 'a tcp_proxy chain keeps its offer');
    const { cluster, warnings: clusterWarnings } = translateCluster(clusterWith({
      transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': UPSTREAM, common_tls_context: { alpn_protocols: ['h2', 'http/1.1'] } } },
    }));
    t.same(cluster.tls!.alpnProtocols, ['http/1.1']);
    t.match(clusterWarnings.join('\n'), /'h2' is not offered, Legate speaks HTTP\/1\.1 to upstream hosts/);
  });

  t.test('raw_buffer is plain', async (t) => {
    const { listener } = translateListener(listenerWith({ transport_socket: { name: 'envoy.transport_sockets.raw_buffer' } }));
    t.equal(listener.filterChains[0].tls, undefined);
  });

  t.test('an upstream context: sni, Envoy\'s TLS 1.2 maximum, inline PEM', async (t) => {
    const { cluster } = translateCluster(clusterWith({
      transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': UPSTREAM, sni: 'server.test', common_tls_context: {
        tls_certificates: [{ certificate_chain: { inline_string: other.cert }, private_key: { inline_bytes: Buffer.from(other.key).toString('base64') } }],
        validation_context: { trusted_ca: { inline_string: ca.cert }, verify_certificate_spki: [Buffer.alloc(32, 1).toString('base64')] },
      } } },
    }));
    const tls = cluster.tls!;
    t.equal(tls.sni, 'server.test');
    t.equal(tls.maxVersion, 'TLSv1.2');
    t.equal(tls.certificates[0].source, 'inline');
    t.equal(tls.validation!.trustedCa, ca.cert);
    t.equal(tls.validation!.spkiPins.length, 1);
  });

  const cases: [string, object, string][] = [
    ['a missing certificate file', downstream({ tls_certificates: certs(leaf.keyFile, join(ca.dir, 'missing.pem')) }),
      `${at}.common_tls_context.tls_certificates[0].certificate_chain.filename: cannot read '${join(ca.dir, 'missing.pem')}' (ENOENT)`],
    ['a key that does not match its certificate', downstream({ tls_certificates: certs(other.keyFile) }),
      `${at}.common_tls_context.tls_certificates[0].private_key: the private key does not match the certificate from ${leaf.certFile}`],
    ['an unknown cipher', downstream({ tls_certificates: certs(), tls_params: { cipher_suites: ['ECDHE-RSA-AES128-GCM-SHA256', 'NOT-A-CIPHER'] } }),
      `${at}.common_tls_context.tls_params.cipher_suites[1]: unknown cipher suite 'NOT-A-CIPHER'`],
    ['an unknown curve', downstream({ tls_certificates: certs(), tls_params: { ecdh_curves: ['P-999'] } }),
      `${at}.common_tls_context.tls_params.ecdh_curves[0]: unknown ECDH curve 'P-999'`],
    ['minimum above maximum', downstream({ tls_certificates: certs(), tls_params: { tls_minimum_protocol_version: 'TLSv1_3', tls_maximum_protocol_version: 'TLSv1_2' } }),
      `${at}.common_tls_context.tls_params.tls_minimum_protocol_version: the minimum version TLSv1.3 is above the maximum TLSv1.2`],
    ['a listener without a certificate', downstream({}), `${at}.common_tls_context.tls_certificates: a TLS listener needs a certificate`],
    ['SAN matching without a trusted CA', downstream({ tls_certificates: certs(), validation_context: { match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'a' } }] } }),
      `${at}.common_tls_context.validation_context.trusted_ca: SAN verification without a trusted CA is insecure`],
    ['a static secret named in an xDS listener', downstream({ tls_certificate_sds_secret_configs: [{ name: 'cert' }] }),
      `${at}.common_tls_context.tls_certificate_sds_secret_configs[0].name: secret 'cert' without sds_config names a static secret, and xDS resources cannot see static_resources.secrets`],
    ['a combined validation context from a certificate provider', downstream({ tls_certificates: certs(), combined_validation_context: { default_validation_context: {}, validation_context_certificate_provider_instance: { instance_name: 'x' } } }),
      `${at}.common_tls_context.combined_validation_context.validation_context_certificate_provider_instance: field 'validation_context_certificate_provider_instance' of envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.CombinedCertificateValidationContext is not supported by Legate`],
    ['a combined validation context without its SDS part', downstream({ tls_certificates: certs(), combined_validation_context: { default_validation_context: {} } }),
      `${at}.common_tls_context.combined_validation_context.validation_context_sds_secret_config: required field is missing`],
    ['session ticket keys', downstream({ tls_certificates: certs() }, { session_ticket_keys: { keys: [{ inline_string: 'x'.repeat(80) }] } }),
      `${at}.session_ticket_keys: field 'session_ticket_keys' of envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext is not supported by Legate`],
    ['OCSP', downstream({ tls_certificates: certs() }, { ocsp_staple_policy: 'STRICT_STAPLING' }),
      `${at}.ocsp_staple_policy: field 'ocsp_staple_policy' of envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext is not supported by Legate`],
    ['a private key provider', downstream({ tls_certificates: [{ certificate_chain: { filename: leaf.certFile }, private_key_provider: { provider_name: 'x' } }] }),
      `${at}.common_tls_context.tls_certificates[0].private_key_provider: field 'private_key_provider' of envoy.extensions.transport_sockets.tls.v3.TlsCertificate is not supported by Legate`],
    ['an upstream context on a listener', { transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': UPSTREAM } } },
      'filter_chains[0].transport_socket.typed_config: a UpstreamTlsContext does not belong here'],
  ];
  for (const [name, chain, message] of cases) {
    t.test(name, async (t) => {
      const text = errorOf(() => translateListener(listenerWith(chain)));
      t.ok(text.startsWith(message), `${text}\n  starts with\n${message}`);
      t.notOk(text.includes('PRIVATE KEY'), 'no key in the message');
    });
  }

  t.test('bad PEM in a key file names the key, not its contents', async (t) => {
    const bad = join(ca.dir, 'bad.key');
    writeFileSync(bad, '-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n');
    const text = errorOf(() => translateListener(listenerWith(downstream({ tls_certificates: certs(bad) }))));
    t.match(text, new RegExp(`^${at.replace(/[[\].]/g, '\\$&')}\\.common_tls_context\\.tls_certificates\\[0\\]\\.private_key: cannot load the private key from ${bad.replace(/[.]/g, '\\.')}`));
    t.notOk(text.includes('not base64 at all'));
  });

  t.test('static secrets: SdsSecretConfig without sds_config names static_resources.secrets', async (t) => {
    const secrets = [
      { name: 'server-cert', tls_certificate: { certificate_chain: { filename: leaf.certFile }, private_key: { inline_string: leaf.key } } },
      { name: 'ca', validation_context: { trusted_ca: { filename: ca.certFile }, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'client.test' } }] } },
    ];
    const common = { tls_certificate_sds_secret_configs: [{ name: 'server-cert' }], validation_context_sds_secret_config: { name: 'ca' } };
    const bootstrap = (extra: object = {}, listenerCommon: object = common) => ({
      static_resources: {
        secrets,
        listeners: [listenerWith(downstream(listenerCommon))],
        clusters: [clusterWith({
          transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': UPSTREAM, common_tls_context: common } },
        })],
        ...extra,
      },
    });
    const config = translateBootstrap(bootstrap());
    const tls = config.listeners[0].filterChains[0].tls!;
    t.equal(tls.certificates.length, 1);
    t.equal(tls.certificates[0].certificateChain, leaf.cert);
    t.equal(tls.certificates[0].privateKey, leaf.key);
    t.equal(tls.certificates[0].source, leaf.certFile);
    t.equal(tls.validation!.trustedCa, ca.cert);
    t.equal(tls.validation!.sanMatchers.length, 1);
    t.equal(config.clusters[0].tls!.certificates[0].certificateChain, leaf.cert);

    const errors: [object, string][] = [
      [bootstrap({}, { tls_certificate_sds_secret_configs: [{ name: 'nope' }] }),
        `static_resources.listeners[0].${at}.common_tls_context.tls_certificate_sds_secret_configs[0].name: unknown secret 'nope'`],
      [bootstrap({}, { tls_certificate_sds_secret_configs: [{ name: 'ca' }] }),
        `static_resources.listeners[0].${at}.common_tls_context.tls_certificate_sds_secret_configs[0].name: secret 'ca' has no tls_certificate`],
      [bootstrap({}, { tls_certificates: certs(), tls_certificate_sds_secret_configs: [{ name: 'server-cert' }] }),
        `static_resources.listeners[0].${at}.common_tls_context.tls_certificate_sds_secret_configs: tls_certificates and tls_certificate_sds_secret_configs are both set`],
      [bootstrap({}, { tls_certificates: certs(), validation_context: {}, validation_context_sds_secret_config: { name: 'ca' } }),
        `static_resources.listeners[0].${at}.common_tls_context.validation_context_sds_secret_config: only one of 'validation_context', 'validation_context_sds_secret_config' may be set`],
      [bootstrap({ secrets: [...secrets, { name: 'ca', validation_context: {} }] }), `static_resources.secrets[2].name: duplicate secret name 'ca'`],
      [bootstrap({ secrets: [{ name: 'empty' }] }), `static_resources.secrets[0]: secret 'empty' has neither tls_certificate nor validation_context`],
      // A bad secret is named by its own path, and its key never appears.
      [bootstrap({ secrets: [{ ...secrets[0], tls_certificate: { certificate_chain: { filename: leaf.certFile }, private_key: { inline_string: other.key } } }, secrets[1]] }),
        `static_resources.secrets[0].tls_certificate.private_key: the private key does not match the certificate from ${leaf.certFile}`],
      [bootstrap({ secrets: [{ name: 's', generic_secret: { secret: { inline_string: 'x' } } }] }),
        `static_resources.secrets[0].generic_secret: field 'generic_secret' of envoy.extensions.transport_sockets.tls.v3.Secret is not supported by Legate`],
    ];
    for (const [config, message] of errors) {
      const text = errorOf(() => translateBootstrap(config));
      t.ok(text.startsWith(message), `${text}\n  starts with\n${message}`);
      t.notOk(text.includes('PRIVATE KEY'), 'no key in the message');
    }
  });

  t.test('SDS from a file or ADS: the context keeps references the primary fills in', async (t) => {
    const sds = (name: string) => ({ name, sds_config: { path_config_source: { path: '/etc/certs/sds.yaml', watched_directory: { path: '/etc/certs' } } } });
    const { listener } = translateListener(listenerWith(downstream({
      tls_certificate_sds_secret_configs: [sds('server')],
      validation_context_sds_secret_config: sds('ca'),
    })));
    const tls = listener.filterChains[0].tls!;
    t.same(tls.certificates, [], 'nothing read yet');
    t.equal(tls.validation, undefined);
    t.same(tls.sds, {
      certificates: [{ name: 'server', path: '/etc/certs/sds.yaml', watchedDirectory: '/etc/certs' }],
      validation: { name: 'ca', path: '/etc/certs/sds.yaml', watchedDirectory: '/etc/certs' },
    });
    const overAds = translateListener(listenerWith(downstream({ tls_certificate_sds_secret_configs: [{ name: 'cert', sds_config: { ads: {} } }] }))).listener;
    t.same(overAds.filterChains[0].tls!.sds, { certificates: [{ name: 'cert' }] }, 'SDS over ADS: a name, no path');
    t.match(errorOf(() => translateBootstrap({ static_resources: { listeners: [listenerWith(downstream({ tls_certificate_sds_secret_configs: [{ name: 'cert', sds_config: { ads: {} } }] }))], clusters: [clusterWith({})] } })),
      /^static_resources\.listeners\[0\]: listener 'l' gets a secret over ADS but there is no ads_config/);
    t.match(errorOf(() => translateCluster(clusterWith({
      transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': UPSTREAM, common_tls_context: { tls_certificate_sds_secret_configs: [sds('a'), sds('b')] } } },
    }))), /common_tls_context\.tls_certificates: an upstream TLS context takes at most one client certificate/);
  });

  t.test('transport_socket_matches: translated in order; a health check\'s match criteria are refused', async (t) => {
    const { cluster } = translateCluster(clusterWith({ transport_socket_matches: [
      { name: 'tls', match: { tlsMode: 'istio' }, transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', sni: 'x' } } },
      { name: 'plain', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer' } },
    ] }));
    t.match(cluster.transportSocketMatches, [{ name: 'tls', match: { tlsMode: 'istio' }, tls: { sni: 'x' } }, { name: 'plain', match: {} }]);
    t.equal(cluster.transportSocketMatches?.[1].tls, undefined, 'raw_buffer: no TLS');
    t.match(errorOf(() => translateCluster(clusterWith({
      transport_socket_matches: [{ name: 'm', transport_socket: { name: 'envoy.transport_sockets.raw_buffer' } }],
      health_checks: [{ timeout: '1s', interval: '1s', unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {}, transport_socket_match_criteria: { tlsMode: 'istio' } }],
    }))), /^health_checks\[0\]\.transport_socket_match_criteria: field 'transport_socket_match_criteria' of envoy\.config\.core\.v3\.HealthCheck is not supported by Legate/);
  });

  t.test('upstream_http_protocol_options: auto_sni, auto_san_validation, override_auto_sni_header', async (t) => {
    const { cluster } = translateCluster(clusterWith({ typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', upstream_http_protocol_options: { auto_sni: true, auto_san_validation: true, override_auto_sni_header: 'X-Name' }, explicit_http_config: { http_protocol_options: {} } } } }));
    t.same(cluster.autoSni, { sni: true, sanValidation: true, header: 'x-name' });
    t.equal(translateCluster(clusterWith({})).cluster.autoSni, undefined, 'absent when off');
  });
});
