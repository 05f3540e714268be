// HTTP/2 on node:http2's core API (nghttp2): framing, HPACK and flow control are not written here.
export { requestFromHttp2, responseFromHttp2, trailersFromHttp2, http2RequestHeaders, http2ResponseHeaders, http2Trailers } from './headers.ts';
export { Http2ServerConnection, Http2ServerStream, type Http2ServerOptions, type Http2CodecStats } from './server-connection.ts';
