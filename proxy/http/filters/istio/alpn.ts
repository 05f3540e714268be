// istio.alpn (istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig): the ALPN protocols an
// upstream TLS connection offers, chosen by the HTTP protocol the request will travel upstream
// with, as Istio's filter sets Envoy's application protocols filter state. istiod puts it on every
// outbound listener so that a server sidecar's filter chains can tell mutual TLS HTTP
// (istio-http/1.1, istio-h2) from TCP. Connections are pooled per ALPN list.
import type { IstioAlpnConfig } from '../../../config/model.ts';
import type { FilterStatus } from '../../../http-filter/index.ts';
import type { ClusterManager } from '../../../upstream/index.ts';
import type { HttpStream } from '../../stream.ts';
import type { FilterContext, HttpFilterInstance } from '../filter-context.ts';

export class IstioAlpnFilter implements HttpFilterInstance {
  private readonly overrides: IstioAlpnConfig['overrides'];
  private readonly clusters: ClusterManager | undefined;

  constructor(config: IstioAlpnConfig, ctx: FilterContext) {
    this.overrides = config.overrides;
    this.clusters = ctx.clusters;
  }

  decodeHeaders(stream: HttpStream): FilterStatus {
    const name = stream.cluster?.name;
    const cluster = name === undefined ? undefined : this.clusters?.get(name)?.config;
    if (cluster === undefined) return 'continue';
    // Istio's getProtocol: the downstream's with USE_DOWNSTREAM_PROTOCOL, HTTP/2 when configured, else HTTP/1.1.
    const downstream = stream.head.protocol;
    const protocol = cluster.upstreamProtocol === 'DOWNSTREAM'
      ? (downstream === 'HTTP/2' ? 'HTTP2' : downstream === 'HTTP/1.0' ? 'HTTP10' : 'HTTP11')
      : cluster.upstreamProtocol === 'HTTP2' ? 'HTTP2' : 'HTTP11';
    const alpn = this.overrides[protocol];
    if (alpn !== undefined && alpn.length > 0) stream.upstreamAlpn = alpn;
    return 'continue';
  }
}

export function createIstioAlpnFilter(config: unknown, ctx: FilterContext): HttpFilterInstance {
  return new IstioAlpnFilter(config as IstioAlpnConfig, ctx);
}
