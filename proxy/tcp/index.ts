export { TcpProxyHandler, type TcpProxyContext } from './tcp-proxy.ts';
