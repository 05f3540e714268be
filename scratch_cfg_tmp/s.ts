import { checkMessage } from '../proxy/config/schema.ts';
import { parseConfigText } from '../proxy/config/bootstrap.ts';
const text = `
static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 0.0.0.0, port_value: 10000 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          statPrefix: ingress
          route_config:
            virtual_hosts:
            - name: a
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: x, timeout: 0.25s }
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
  clusters:
  - name: x
    connect_timeout: 1s
    type: STRICT_DNS
    lb_policy: ROUND_ROBIN
    load_assignment:
      cluster_name: x
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8080 }}}}]}]
layered_runtime: {}
`;
const f = parseConfigText(text, 'x.yaml');
const t0 = performance.now();
const w: string[] = [];
console.log(JSON.stringify(checkMessage(f.raw, 'envoy.config.bootstrap.v3.Bootstrap', '', w)), w);
console.log(performance.now() - t0);
for (const bad of [
  ['static_resources.clusters[0].connect_timeout', '5'],
  ['static_resources.clusters[0].lb_policy', '"ROUND_ROBINN"'],
  ['static_resources.clusters[0].foo', '1'],
  ['static_resources.clusters[0].name', '""'],
  ['static_resources.listeners[0].address.socket_address.port_value', '70000'],
  ['static_resources.clusters[0].transport_socket', '{name: tls}'],
]) {
  const raw = structuredClone(f.raw) as any;
  const segs = bad[0].split(/\.|\[|\]/).filter(Boolean);
  let o = raw; for (const s of segs.slice(0, -1)) o = o[s];
  o[segs.at(-1)!] = JSON.parse(bad[1].replace(/^\{name: tls\}$/, '{"name":"tls"}'));
  try { checkMessage(raw, 'envoy.config.bootstrap.v3.Bootstrap'); console.log('NO ERROR', bad) } catch (e: any) { console.log(e.message, '@', f.locate(e.path)); }
}
