// HTTP/1.1 on raw sockets: Node's llhttp binding driven directly, both directions.
export { Http1ServerConnection, type Http1ServerOptions } from './server-connection.ts';
export { Http1ClientConnection, type Http1ClientOptions } from './client-connection.ts';
