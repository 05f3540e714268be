// The gRPC authorization service: a unary envoy.service.auth.v3.Authorization/Check over HTTP/2 to
// the envoy_grpc cluster, sent like any upstream request (the cluster's load balancer, breaker,
// pools and stats; Envoy's AsyncClient does the same). The messages are encoded with protobufjs
// on Envoy's auth protos, loaded when the first filter needs them, not when a worker starts.
// An answer is OK when its status is OK; any other status denies (403 unless the DeniedHttpResponse
// says otherwise); a failed call (a gRPC error, no 200, a reset, the timeout) is an error.
import type protobuf from 'protobufjs';
import type { StreamInfo } from '../../../access-log/index.ts';
import type { HeaderMap } from '../../../codec/index.ts';
import { formatGrpcTimeout, GrpcStatus, grpcStatusOf } from '../../../grpc/index.ts';
import { sendAsyncRequest, type Cancellable, type ClusterManager } from '../../../upstream/index.ts';
import type { AuthorizationResponse, AuthorizationService, HeaderList } from './authorization-service.ts';
import { okResponse } from './authorization-service.ts';
import type { CheckRequest } from './check-request.ts';

const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';

/** Envoy's HeaderValueOption.HeaderAppendAction numbers. */
const APPEND_IF_EXISTS_OR_ADD = 0;
const ADD_IF_ABSENT = 1;
const OVERWRITE_IF_EXISTS_OR_ADD = 2;

interface Messages {
  request: protobuf.Type;
  response: protobuf.Type;
}

let messages: Promise<Messages> | undefined;

/** Starts loading the auth protos (once per process); the first check waits for them. */
export function loadAuthMessages(): Promise<Messages> {
  messages ??= import('../../../../envoy-api/index.ts').then(({ loadProtoFiles }) => {
    const root = loadProtoFiles(['envoy/service/auth/v3/external_auth.proto']);
    return { request: root.lookupType('envoy.service.auth.v3.CheckRequest'), response: root.lookupType('envoy.service.auth.v3.CheckResponse') };
  });
  return messages;
}

export interface GrpcServiceOptions {
  cluster: string;
  authority: string;
  timeoutMs: number;
  initialMetadata: readonly { key: string; value: string }[];
}

export class GrpcAuthorizationService implements AuthorizationService {
  private readonly clusters: ClusterManager;
  private readonly options: GrpcServiceOptions;
  private readonly headers: HeaderMap;

  constructor(clusters: ClusterManager, options: GrpcServiceOptions) {
    this.clusters = clusters;
    this.options = options;
    const headers: HeaderMap = { 'content-type': 'application/grpc', te: 'trailers' };
    if (options.timeoutMs > 0) headers['grpc-timeout'] = formatGrpcTimeout(options.timeoutMs);
    for (const { key, value } of options.initialMetadata) headers[key] = value;
    this.headers = headers;
    void loadAuthMessages().catch(() => {}); // warm: the first check should not pay for it
  }

  check(request: CheckRequest, _info: StreamInfo, done: (response: AuthorizationResponse) => void): Cancellable {
    let call: Cancellable | null = null;
    let cancelled = false;
    loadAuthMessages().then(
      (types) => {
        if (cancelled) return;
        const message = types.request.encode(types.request.fromObject(request)).finish();
        const frame = Buffer.alloc(5 + message.length);
        frame.writeUInt32BE(message.length, 1);
        frame.set(message, 5);
        call = sendAsyncRequest(
          this.clusters,
          this.options.cluster,
          { method: 'POST', path: CHECK_PATH, authority: this.options.authority, headers: { ...this.headers }, body: frame, protocol: 'HTTP/2', timeoutMs: this.options.timeoutMs },
          {
            onSuccess: (response) => done(toAuthorizationResponse(types.response, response.status, response.headers, response.body, response.trailers)),
            onFailure: () => done({ status: 'error' }),
          },
        );
      },
      () => {
        if (!cancelled) done({ status: 'error' });
      },
    );
    return {
      cancel: () => {
        cancelled = true;
        call?.cancel();
      },
    };
  }
}

interface HeaderValueOptionMessage {
  header?: { key?: string; value?: string; raw_value?: Uint8Array };
  append?: { value?: boolean };
  append_action?: number;
}

interface CheckResponseMessage {
  status?: { code?: number };
  denied_response?: { status?: { code?: number }; headers?: HeaderValueOptionMessage[]; body?: string };
  ok_response?: {
    headers?: HeaderValueOptionMessage[];
    headers_to_remove?: string[];
    response_headers_to_add?: HeaderValueOptionMessage[];
    query_parameters_to_set?: { key?: string; value?: string }[];
    query_parameters_to_remove?: string[];
  };
}

function toAuthorizationResponse(type: protobuf.Type, status: number, headers: HeaderMap, body: Buffer, trailers: HeaderMap | null): AuthorizationResponse {
  // A trailers-only answer carries its status in the headers.
  const grpcStatus = grpcStatusOf(trailers ?? headers);
  if (status !== 200 || grpcStatus !== GrpcStatus.Ok) return { status: 'error' };
  const message = unaryMessage(body);
  if (message === undefined) return { status: 'error' };
  let decoded: CheckResponseMessage;
  try {
    decoded = type.toObject(type.decode(message)) as CheckResponseMessage;
  } catch {
    return { status: 'error' };
  }
  if ((decoded.status?.code ?? 0) === GrpcStatus.Ok) {
    const ok = okResponse();
    const answer = decoded.ok_response;
    if (answer !== undefined) {
      splitHeaders(answer.headers, ok.headersToSet, ok.headersToAppend);
      ok.headersToRemove = (answer.headers_to_remove ?? []).map((h) => h.toLowerCase());
      for (const option of answer.response_headers_to_add ?? []) {
        const entry = headerOf(option);
        if (entry === undefined) continue;
        if (option.append !== undefined) (option.append.value === true ? ok.responseHeadersToAdd : ok.responseHeadersToSet).push(entry);
        else if ((option.append_action ?? APPEND_IF_EXISTS_OR_ADD) === APPEND_IF_EXISTS_OR_ADD) ok.responseHeadersToAdd.push(entry);
        else if (option.append_action === ADD_IF_ABSENT) ok.responseHeadersToAddIfAbsent.push(entry);
        else if (option.append_action === OVERWRITE_IF_EXISTS_OR_ADD) ok.responseHeadersToSet.push(entry);
        else ok.responseHeadersToOverwriteIfExists.push(entry);
      }
      for (const p of answer.query_parameters_to_set ?? []) ok.queryParametersToSet.push([p.key ?? '', p.value ?? '']);
      ok.queryParametersToRemove = answer.query_parameters_to_remove ?? [];
    }
    return ok;
  }
  const denied = decoded.denied_response;
  const set: HeaderList = [];
  splitHeaders(denied?.headers, set, []);
  const code = denied?.status?.code ?? 0;
  return { status: 'denied', httpStatus: code > 0 ? code : 403, headers: set, body: denied?.body ?? '' };
}

// OkHttpResponse.headers / DeniedHttpResponse.headers: append true appends, else (unset too) overwrites.
function splitHeaders(options: HeaderValueOptionMessage[] | undefined, set: HeaderList, append: HeaderList): void {
  for (const option of options ?? []) {
    const entry = headerOf(option);
    if (entry !== undefined) (option.append?.value === true ? append : set).push(entry);
  }
}

function headerOf(option: HeaderValueOptionMessage): [string, string] | undefined {
  const key = option.header?.key;
  if (key === undefined || key === '') return undefined;
  const raw = option.header?.raw_value;
  const value = raw !== undefined && raw.length > 0 ? Buffer.from(raw).toString('utf8') : (option.header?.value ?? '');
  return [key.toLowerCase(), value];
}

// The one message of a unary answer: uncompressed, length-prefixed.
function unaryMessage(body: Buffer): Uint8Array | undefined {
  if (body.length < 5 || body[0] !== 0) return undefined;
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) return undefined;
  return body.subarray(5);
}
