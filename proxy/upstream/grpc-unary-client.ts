// Legate's own unary gRPC calls to an envoy_grpc cluster (Envoy's Grpc::AsyncClient for one
// request and one answer): the request encoded with protobufjs, framed, and sent as one HTTP/2
// request through the async client (the cluster's load balancer, breaker, pools and stats). The
// filters that call a service (ext_authz's Authorization/Check, ratelimit's ShouldRateLimit) use
// it. The messages come from Envoy's protos, loaded by a dynamic import() when the first client is
// built, so a worker with no such filter never loads protobufjs.
import type protobuf from 'protobufjs';
import type { HeaderMap } from '../codec/index.ts';
import { formatGrpcTimeout, GrpcStatus, grpcStatusOf } from '../grpc/index.ts';
import { sendAsyncRequest } from './async-client.ts';
import type { ClusterManager } from './cluster-manager.ts';
import type { Cancellable } from './pool/index.ts';

/** A method's request and response messages. */
export interface UnaryMessages {
  request: protobuf.Type;
  response: protobuf.Type;
}

/** Where the calls go: GrpcService.envoy_grpc and its initial_metadata. */
export interface GrpcTarget {
  cluster: string;
  /** :authority; Envoy's default is the cluster name. */
  authority: string;
  initialMetadata: readonly { key: string; value: string }[];
}

/**
 * A loader of one method's messages from Envoy's protos (an Envoy path such as
 * 'envoy/service/auth/v3/external_auth.proto'): loads once per process, on first call.
 */
export function protoMessages(file: string, request: string, response: string): () => Promise<UnaryMessages> {
  let loaded: Promise<UnaryMessages> | undefined;
  return () => {
    loaded ??= import('../../envoy-api/index.ts').then(({ loadProtoFiles }) => {
      const root = loadProtoFiles([file]);
      return { request: root.lookupType(request), response: root.lookupType(response) };
    });
    return loaded;
  };
}

export class GrpcUnaryClient {
  private readonly clusters: ClusterManager;
  private readonly target: GrpcTarget;
  private readonly path: string;
  private readonly messages: () => Promise<UnaryMessages>;
  private readonly conversion: protobuf.IConversionOptions;
  private readonly headers: HeaderMap;

  /** `path` is /<package.Service>/<Method>; `conversion` is how the answer becomes a plain object. */
  constructor(clusters: ClusterManager, target: GrpcTarget, path: string, messages: () => Promise<UnaryMessages>, conversion: protobuf.IConversionOptions = {}) {
    this.clusters = clusters;
    this.target = target;
    this.path = path;
    this.messages = messages;
    this.conversion = conversion;
    const headers: HeaderMap = { 'content-type': 'application/grpc', te: 'trailers' };
    for (const { key, value } of target.initialMetadata) headers[key] = value;
    this.headers = headers;
    void messages().catch(() => {}); // warm: the first call should not pay for the load
  }

  /**
   * Sends `request` (a plain object in the proto's field names); `done` gets the answer as a plain
   * object, or undefined when the call failed (unreachable, reset, a gRPC error, no 200, an
   * unreadable answer, or no answer within `timeoutMs`, which also goes out as grpc-timeout).
   * Called exactly once unless the returned handle is cancelled first. A call made before the
   * messages are loaded waits for them; its timeout starts when it is sent.
   */
  call(request: object, timeoutMs: number, done: (response: Record<string, unknown> | undefined) => void): Cancellable {
    let sent: Cancellable | null = null;
    let cancelled = false;
    this.messages().then(
      (types) => {
        if (cancelled) return;
        let message: Uint8Array;
        try {
          message = types.request.encode(types.request.fromObject(request)).finish();
        } catch {
          done(undefined);
          return;
        }
        const frame = Buffer.alloc(5 + message.length);
        frame.writeUInt32BE(message.length, 1);
        frame.set(message, 5);
        const headers: HeaderMap = { ...this.headers };
        if (timeoutMs > 0) headers['grpc-timeout'] = formatGrpcTimeout(timeoutMs);
        sent = sendAsyncRequest(
          this.clusters,
          this.target.cluster,
          { method: 'POST', path: this.path, authority: this.target.authority, headers, body: frame, protocol: 'HTTP/2', timeoutMs },
          {
            onSuccess: (response) => done(this.decode(types.response, response.status, response.headers, response.body, response.trailers)),
            onFailure: () => done(undefined),
          },
        );
      },
      () => {
        if (!cancelled) done(undefined);
      },
    );
    return {
      cancel: () => {
        cancelled = true;
        sent?.cancel();
      },
    };
  }

  private decode(type: protobuf.Type, status: number, headers: HeaderMap, body: Buffer, trailers: HeaderMap | null): Record<string, unknown> | undefined {
    // A trailers-only answer carries its status in the headers.
    if (status !== 200 || grpcStatusOf(trailers ?? headers) !== GrpcStatus.Ok) return undefined;
    const message = unaryMessage(body);
    if (message === undefined) return undefined;
    try {
      return type.toObject(type.decode(message), this.conversion);
    } catch {
      return undefined;
    }
  }
}

// The one message of a unary answer: uncompressed, length-prefixed.
function unaryMessage(body: Buffer): Uint8Array | undefined {
  if (body.length < 5 || body[0] !== 0) return undefined;
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) return undefined;
  return body.subarray(5);
}
