// The gRPC authorization service: a unary envoy.service.auth.v3.Authorization/Check over HTTP/2 to
// the envoy_grpc cluster, sent like any upstream request (the cluster's load balancer, breaker,
// pools and stats; Envoy's AsyncClient does the same) by upstream/grpc-unary-client.ts, on Envoy's
// auth protos, loaded when the first filter needs them, not when a worker starts.
// An answer is OK when its status is OK; any other status denies (403 unless the DeniedHttpResponse
// says otherwise); a failed call (a gRPC error, no 200, a reset, the timeout) is an error.
import type { StreamInfo } from '../../../access-log/index.ts';
import { GrpcStatus } from '../../../grpc/index.ts';
import { GrpcUnaryClient, protoMessages, type Cancellable, type ClusterManager, type GrpcTarget } from '../../../upstream/index.ts';
import type { AuthorizationResponse, AuthorizationService, HeaderList } from './authorization-service.ts';
import { okResponse } from './authorization-service.ts';
import type { CheckRequest } from './check-request.ts';

const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';

/** Envoy's HeaderValueOption.HeaderAppendAction numbers. */
const APPEND_IF_EXISTS_OR_ADD = 0;
const ADD_IF_ABSENT = 1;
const OVERWRITE_IF_EXISTS_OR_ADD = 2;

const authMessages = protoMessages('envoy/service/auth/v3/external_auth.proto', 'envoy.service.auth.v3.CheckRequest', 'envoy.service.auth.v3.CheckResponse');

export interface GrpcServiceOptions extends GrpcTarget {
  timeoutMs: number;
}

export class GrpcAuthorizationService implements AuthorizationService {
  private readonly client: GrpcUnaryClient;
  private readonly timeoutMs: number;

  constructor(clusters: ClusterManager, options: GrpcServiceOptions) {
    this.client = new GrpcUnaryClient(clusters, options, CHECK_PATH, authMessages);
    this.timeoutMs = options.timeoutMs;
  }

  check(request: CheckRequest, _info: StreamInfo | undefined, done: (response: AuthorizationResponse) => void): Cancellable {
    return this.client.call(request, this.timeoutMs, (answer) => done(answer === undefined ? { status: 'error' } : toAuthorizationResponse(answer as CheckResponseMessage)));
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

function toAuthorizationResponse(decoded: CheckResponseMessage): AuthorizationResponse {
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
  // The denial's headers all go to the client; repeated names (set-cookie) stay repeated.
  const set: HeaderList = [];
  splitHeaders(denied?.headers, set, set);
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
