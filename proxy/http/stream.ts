// One downstream HTTP request as the connection manager runs it: the request and response, the
// headers bound upstream, the route it matched, and the StreamInfo the access log reads. It gives
// the router filter what it needs (RouterStream) and ends the stream's stats and log exactly once.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { StreamInfo } from '../access-log/index.ts';
import type { RouterStream } from '../router/index.ts';
import type { ClusterChoice, RouteMatchResult, RouteRequest } from '../router/index.ts';
import type { HttpConnectionManagerHandler } from './connection-manager.ts';

export class HttpStream implements RouterStream {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly headers: IncomingHttpHeaders;
  readonly info: StreamInfo;
  readonly startMs = performance.now();
  readonly hcm: HttpConnectionManagerHandler;
  path: string;
  route: RouteMatchResult<StreamInfo> | null = null;
  /** The route's cluster for this request, picked once (weighted, or from a header) when the route matched. */
  cluster: ClusterChoice | undefined;
  trustedDownstream = false;
  readonly requestHasBody: boolean;
  includeAttemptCount = false;
  includeAttemptCountInResponse = false;
  private resetCallback: (() => void) | undefined;
  /** The downstream went away or a timeout ended the stream: nothing more may start for it. */
  ended = false;

  /** The request as route matching saw it (original path and authority). */
  readonly request: RouteRequest;

  constructor(hcm: HttpConnectionManagerHandler, req: IncomingMessage, res: ServerResponse, info: StreamInfo, request: RouteRequest) {
    this.request = request;
    this.hcm = hcm;
    this.req = req;
    this.res = res;
    this.headers = req.headers;
    // Read before hop-by-hop removal drops transfer-encoding from these same headers.
    const length = req.headers['content-length'];
    this.requestHasBody = length !== undefined ? length !== '0' : req.headers['transfer-encoding'] !== undefined;
    this.path = req.url ?? '/';
    this.info = info;
  }

  hashKey(): number | undefined {
    return this.route === null ? undefined : this.hcm.hashFor(this);
  }

  localReply(status: number, body: string, flag: string, details: string, headers?: OutgoingHttpHeaders): void {
    if (flag !== '') this.info.setResponseFlag(flag);
    this.info.responseCodeDetails = details;
    if (this.res.headersSent) {
      this.resetDownstream();
      return;
    }
    const out: OutgoingHttpHeaders = { ...headers };
    if (body !== '') {
      out['content-type'] = 'text/plain';
      out['content-length'] = Buffer.byteLength(body);
    } else {
      out['content-length'] = 0;
    }
    this.prepareResponseHeaders(out, status);
    this.res.writeHead(status, out);
    this.res.end(body);
    this.info.bytesSent = Buffer.byteLength(body);
  }

  prepareResponseHeaders(headers: OutgoingHttpHeaders, status: number): void {
    this.hcm.prepareResponseHeaders(this, headers, status);
  }

  /** Legate, not the client, ended the stream early: counted as downstream_rq_tx_reset. */
  localReset = false;

  resetDownstream(): void {
    this.localReset = true;
    this.res.destroy();
  }

  /** cb runs when the downstream goes away (at once if it already has). */
  onReset(cb: () => void): void {
    if (this.ended) cb();
    else this.resetCallback = cb;
  }

  /** The downstream went away before the response was complete. */
  reset(): void {
    this.ended = true;
    const cb = this.resetCallback;
    this.resetCallback = undefined;
    cb?.();
  }
}
