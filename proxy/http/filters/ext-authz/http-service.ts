// The HTTP authorization service (http_service), as Envoy's RawHttpClientImpl: the check is the
// client's request head (method, path_prefix + path, authority, and the allowed headers; the body
// when buffered) sent to server_uri's cluster through Legate's pools. 200 allows: the headers
// allowed_upstream_headers match go upstream (set, or appended for ..._to_append), those of
// allowed_client_headers_on_success to the client, and x-envoy-auth-headers-to-remove names
// request headers to drop. A 5xx or no answer is an error; any other status denies with the
// service's status, body and the headers allowed_client_headers match.
import type { HeaderMap } from '../../../codec/index.ts';
import type { StreamInfo } from '../../../access-log/index.ts';
import { HeaderOperations, type StringPredicate } from '../../../router/index.ts';
import { sendAsyncRequest, type Cancellable, type ClusterManager } from '../../../upstream/index.ts';
import type { AuthorizationResponse, AuthorizationService, HeaderList } from './authorization-service.ts';
import { okResponse } from './authorization-service.ts';
import type { CheckRequest } from './check-request.ts';

const HEADERS_TO_REMOVE = 'x-envoy-auth-headers-to-remove';

// Never taken from the service's answer: they describe its connection, not the decision.
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

export interface HttpServiceOptions {
  cluster: string;
  timeoutMs: number;
  pathPrefix: string;
  /** authorization_request.headers_to_add, compiled (values may use %FORMAT% operators). */
  headersToAdd: HeaderOperations<StreamInfo>;
  upstream: StringPredicate[];
  upstreamToAppend: StringPredicate[];
  /** Empty: every header of a denial but Host. */
  client: StringPredicate[];
  clientOnSuccess: StringPredicate[];
}

export class HttpAuthorizationService implements AuthorizationService {
  private readonly clusters: ClusterManager;
  private readonly options: HttpServiceOptions;

  constructor(clusters: ClusterManager, options: HttpServiceOptions) {
    this.clusters = clusters;
    this.options = options;
  }

  check(request: CheckRequest, info: StreamInfo, done: (response: AuthorizationResponse) => void): Cancellable {
    const http = request.attributes.request!.http; // the HTTP service checks requests only
    const body = http.raw_body ?? (http.body === undefined ? undefined : Buffer.from(http.body));
    const headers: HeaderMap = { 'content-length': String(body?.length ?? 0) };
    let method = 'GET';
    let path = '/';
    let authority = '';
    for (const name in http.headers) {
      const value = http.headers[name];
      if (name === ':method') method = value;
      else if (name === ':path') path = this.options.pathPrefix + value;
      else if (name === ':authority') authority = value;
      else if (!name.startsWith(':') && name !== 'content-length') headers[name] = value;
    }
    this.options.headersToAdd.apply(headers, info);
    return sendAsyncRequest(
      this.clusters,
      this.options.cluster,
      { method, path, authority, headers, body: body === undefined || body.length === 0 ? null : body, timeoutMs: this.options.timeoutMs },
      {
        onSuccess: (response) => done(this.toResponse(response.status, response.headers, response.body)),
        onFailure: () => done({ status: 'error' }),
      },
    );
  }

  private toResponse(status: number, headers: HeaderMap, body: Buffer): AuthorizationResponse {
    if (status >= 500 && status < 600) return { status: 'error' };
    const entries: HeaderList = [];
    for (const name in headers) {
      if (CONNECTION_HEADERS.has(name) || name === HEADERS_TO_REMOVE) continue;
      const value = headers[name];
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) entries.push([name, v]);
    }
    const { upstream, upstreamToAppend, client, clientOnSuccess } = this.options;
    const matches = (list: StringPredicate[], name: string) => list.some((m) => m(name));
    if (status === 200) {
      const ok = okResponse();
      for (const value of list(headers[HEADERS_TO_REMOVE])) {
        for (const name of value.split(',')) if (name.trim() !== '') ok.headersToRemove.push(name.trim().toLowerCase());
      }
      for (const entry of entries) {
        if (matches(upstream, entry[0])) ok.headersToSet.push(entry);
        if (matches(upstreamToAppend, entry[0])) ok.headersToAdd.push(entry);
        if (matches(clientOnSuccess, entry[0])) ok.responseHeadersToAdd.push(entry);
      }
      return ok;
    }
    // Denied: allowed_client_headers, or when it is empty every header but Host.
    const toClient = client.length === 0 ? (name: string) => name !== 'host' : (name: string) => matches(client, name) || DENIAL_DEFAULTS.has(name);
    return { status: 'denied', httpStatus: status, headers: entries.filter(([name]) => toClient(name)), body: body.toString('utf8') };
  }
}

// With allowed_client_headers set, these go to the client too (Envoy's defaults).
const DENIAL_DEFAULTS = new Set(['content-length', 'www-authenticate', 'location']);

function list(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
