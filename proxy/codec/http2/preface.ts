// HTTP/2 with prior knowledge starts with the client connection preface (RFC 9113 3.4). Under
// codec_type AUTO the HTTP/1 codec reads a connection's first bytes (its parser recognises the
// preface) and hands this, with what followed, to the HTTP/2 codec.
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
