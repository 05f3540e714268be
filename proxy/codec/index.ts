// The codec boundary's public surface.
export type * from './types.ts';
export * from './http1/index.ts';
export * from './http2/index.ts';
export type { HeadersWithUnderscoresAction, UnderscorePolicy } from './header-underscores.ts';
export { Http2ClientConnection, type Http2ClientConnectionCallbacks, type Http2ClientOptions, type Http2ClientStats } from './http2/client-connection.ts';
