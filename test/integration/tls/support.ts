// Builders and clients for the TLS integration tests: transport_socket blocks in Envoy's shape,
// and an HTTPS request that reports how the TLS connection went.
import https from 'node:https';
import { HCM_TYPE, ROUTER_TYPE, routes } from '../../support/bootstrap.ts';
import type { LeafCert } from '../../support/test-ca.ts';

export const DOWNSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const UPSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const TLS_INSPECTOR = 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';

/** An HTTP connection manager sending everything to `cluster`; `extra` adds HCM fields. */
export function hcmToCluster(statPrefix: string, cluster: string, extra: object = {}) {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': HCM_TYPE,
      stat_prefix: statPrefix,
      route_config: routes([{ match: { prefix: '/' }, route: { cluster } }]),
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
      ...extra,
    },
  };
}

/** An HTTP connection manager sending everything to cluster 'backend'. */
export function hcmToBackend(statPrefix: string, extra: object = {}) {
  return hcmToCluster(statPrefix, 'backend', extra);
}

export function certFiles(leaf: LeafCert) {
  return { certificate_chain: { filename: leaf.certFile }, private_key: { filename: leaf.keyFile } };
}

export function downstreamTls(common: object, extra: object = {}) {
  return { name: 'envoy.transport_sockets.tls', typed_config: { '@type': DOWNSTREAM_TLS, common_tls_context: common, ...extra } };
}

export function upstreamTls(common: object, extra: object = {}) {
  return { name: 'envoy.transport_sockets.tls', typed_config: { '@type': UPSTREAM_TLS, common_tls_context: common, ...extra } };
}

export interface HttpsReply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  peerCn: string; // the server certificate's CN
  protocol: string;
}

export interface HttpsOptions {
  servername?: string;
  ca: string;
  cert?: string;
  key?: string;
  headers?: Record<string, string>;
}

/** One HTTPS GET (no connection reuse) to 127.0.0.1:port; rejects when TLS or the request fails. */
export function httpsGet(port: number, path: string, o: HttpsOptions, timeoutMs = 5000): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path, method: 'GET', agent: false, ca: o.ca, cert: o.cert, key: o.key,
      servername: o.servername ?? 'localhost', headers: o.headers,
      // The tests' certificates name test hosts, not 127.0.0.1; the CA is what is checked.
      checkServerIdentity: () => undefined,
      timeout: timeoutMs,
    }, (res) => {
      const socket = res.socket as import('node:tls').TLSSocket;
      const peerCn = String(socket.getPeerCertificate().subject?.CN ?? '');
      const protocol = socket.getProtocol() ?? '';
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, peerCn, protocol }));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.once('error', reject);
    req.end();
  });
}
