import protobuf from 'protobufjs';
import fs from 'node:fs';
import path from 'node:path';
const D = '/work/main/node_modules/@grpc/grpc-js-xds/deps';
const inc = ['envoy-api','xds','googleapis','protoc-gen-validate'].map(d=>path.join(D,d)).concat(['/work/main/node_modules/protobufjs']);
const t0 = performance.now();
const root = new protobuf.Root();
root.resolvePath = (origin, target) => {
  if (path.isAbsolute(target)) return target;
  for (const dir of inc) { const p = path.join(dir, target); if (fs.existsSync(p)) return p; }
  return target;
};
const files = [
 'envoy/config/bootstrap/v3/bootstrap.proto',
 'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
 'envoy/extensions/filters/http/router/v3/router.proto',
 'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
 'envoy/extensions/filters/http/fault/v3/fault.proto',
 'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
 'envoy/extensions/filters/http/ratelimit/v3/rate_limit.proto',
 'envoy/extensions/access_loggers/file/v3/file.proto',
 'envoy/extensions/access_loggers/stream/v3/stream.proto',
 'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
 'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
 'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
 'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
 'envoy/config/endpoint/v3/endpoint.proto',
];
for (const f of files) { if (!fs.existsSync(path.join(D,'envoy-api',f))) console.log('missing', f); }
root.loadSync(files, { keepCase: true });
root.resolveAll();
console.log('ms', performance.now()-t0);
const B = root.lookupType('envoy.config.bootstrap.v3.Bootstrap');
console.log(Object.keys(B.fields).slice(0,50));
const L = root.lookupType('envoy.config.listener.v3.Listener');
console.log(L.fields.address.type, L.fields.address.resolvedType?.fullName, L.fields.address.options, (L.fields.address as any).parsedOptions);
console.log(L.oneofs);
const C = root.lookupType('envoy.config.cluster.v3.Cluster');
console.log(C.fields.connect_timeout.resolvedType?.fullName, C.fields.type.resolvedType?.constructor.name, C.fields.lb_policy.options);
console.log(Object.keys(C.fields).filter(k=>C.fields[k].options?.deprecated));
const show = (t: string, f: string) => { const T = root.lookupType(t); const F = T.fields[f]; console.log(t, f, JSON.stringify(F.options), JSON.stringify((F as any).parsedOptions)); };
show('envoy.config.cluster.v3.Cluster','name');
show('envoy.config.cluster.v3.Cluster','connect_timeout');
show('envoy.config.cluster.v3.Cluster','lb_policy');
show('envoy.config.core.v3.SocketAddress','port_value');
show('envoy.config.core.v3.SocketAddress','address');
show('envoy.config.route.v3.VirtualHost','domains');
show('envoy.config.route.v3.RouteAction','cluster');

const RA = root.lookupType('envoy.config.route.v3.RouteAction');
console.log(JSON.stringify(RA.oneofs.cluster_specifier.options), (RA.oneofs.cluster_specifier as any).parsedOptions);
const HC = root.lookupType('envoy.config.core.v3.HealthCheck');
console.log(Object.keys(HC.fields));
