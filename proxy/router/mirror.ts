// request_mirror_policies: a copy of the request goes to each shadow cluster, fire and forget.
// Its :authority gets Envoy's "-shadow" suffix (before any port), its answer is read and dropped,
// and nothing about it reaches the client; it counts in the shadow cluster's stats.
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { RequestMirrorPolicy } from '../config/model.ts';
import type { ClusterManager } from '../upstream/index.ts';

export interface ShadowRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer | null;
  timeoutMs: number;
}

export function sendShadows(policies: readonly RequestMirrorPolicy[], request: ShadowRequest, clusters: ClusterManager): void {
  for (const policy of policies) {
    if (policy.runtimeFractionPercent < 100 && Math.random() * 100 >= policy.runtimeFractionPercent) continue;
    const cluster = clusters.get(policy.cluster);
    const host = cluster?.chooseHost();
    if (cluster === undefined || host == null) continue;
    const headers = { ...request.headers, host: shadowAuthority(String(request.headers.host ?? '')) };
    cluster.stats.upstreamRqTotal.inc();
    cluster
      .pool(host)
      .request({ method: request.method as Dispatcher.HttpMethod, path: request.path, headers: headers as Record<string, string | string[]>, body: request.body, headersTimeout: request.timeoutMs, bodyTimeout: request.timeoutMs })
      .then(
        (res) => {
          cluster.stats.recordResponse(res.statusCode);
          return res.body.dump();
        },
        () => cluster.stats.upstreamRqRxReset.inc(),
      )
      .catch(() => undefined);
  }
}

/** 'foo.com' -> 'foo.com-shadow', 'foo.com:8080' -> 'foo.com-shadow:8080'. */
export function shadowAuthority(authority: string): string {
  const port = /:\d+$/.exec(authority);
  return port === null ? `${authority}-shadow` : `${authority.slice(0, port.index)}-shadow${port[0]}`;
}
