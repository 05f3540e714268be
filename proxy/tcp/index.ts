// L4: Envoy's tcp_proxy.
export { TcpProxyHandler, type TcpProxyContext } from './tcp-proxy.ts';
