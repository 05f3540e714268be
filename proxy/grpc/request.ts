// Which requests are gRPC, as Envoy's Grpc::Common::isGrpcRequestHeaders: a path and a content
// type of exactly application/grpc or application/grpc+<codec> (not grpc-web).

const GRPC = 'application/grpc';

export function hasGrpcContentType(contentType: string | string[] | number | undefined): boolean {
  if (typeof contentType !== 'string' || !contentType.startsWith(GRPC)) return false;
  return contentType.length === GRPC.length || contentType[GRPC.length] === '+';
}

export function isGrpcRequest(head: { readonly path: string; readonly headers: Record<string, string | string[] | number | undefined> }): boolean {
  return head.path !== '' && hasGrpcContentType(head.headers['content-type']);
}
